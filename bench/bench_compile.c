/* bench_compile.c - NVRTC time of a config's kernels, cold (what a tuning run pays on a fresh
 * cache; docs/tune.md, "Tuning time"). No GPU needed: it compiles for sm_90.
 *
 *   bench_compile [--reps N] LAYER_SPEC CONFIG [CONFIG...]
 *
 * For each config: builds its plan (iob_plan_build, h100-sxm) and compiles every launch of it
 * (prep kernels included) N times (default 1) into a fresh cache folder, so that no run hits the
 * cache; prints the median wall time of the whole plan and of its slowest launch. One thread per
 * compile, as the tuner's workers use one core each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iobound/gpu.h"
#include "iobound/plan.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int reps = 1, a = 1;
    if (argc > 2 && !strcmp(argv[1], "--reps")) {
        reps = atoi(argv[2]);
        a = 3;
    }
    if (argc - a < 2 || reps < 1 || reps > 50) {
        fprintf(stderr, "usage: bench_compile [--reps N (1-50)] LAYER_SPEC CONFIG [CONFIG...]\n");
        return 2;
    }
    iob_error err = {0};
    iob_layer L;
    iob_machine m;
    if (iob_layer_parse(argv[a], &L, &err) || iob_machine_get("h100-sxm", &m, &err)) {
        fprintf(stderr, "bench_compile: %s\n", err.msg);
        return 2;
    }
    char tmpl[] = "/tmp/iob-bench-compile.XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("bench_compile: mkdtemp");
        return 2;
    }
    printf("| config | launches | plan ms (median of %d, cold) | slowest launch ms |\n|---|---|---|---|\n",
           reps);
    int rc = 0;
    for (int i = a + 1; i < argc; i++) {
        iob_config cfg;
        iob_plan plan;
        if (iob_config_parse(argv[i], &cfg, &err) || iob_plan_build(&L, &cfg, &m, &plan, &err)) {
            fprintf(stderr, "bench_compile: %s: %s\n", argv[i], err.msg);
            rc = 1;
            continue;
        }
        iob_launch all[2 * IOB_PLAN_LAUNCH_MAX];
        int n = 0;
        for (int j = 0; j < plan.nprep; j++)
            all[n++] = plan.prep[j];
        for (int j = 0; j < plan.nlaunch; j++)
            all[n++] = plan.launch[j];
        double total[50], slowest[50];
        for (int r = 0; r < reps && !rc; r++) {
            char dir[96];
            snprintf(dir, sizeof dir, "%s/%d-%d", tmpl, i, r); /* a fresh cache: every compile cold */
            setenv("IOB_CACHE_DIR", dir, 1);
            total[r] = slowest[r] = 0;
            for (int j = 0; j < n; j++) {
                iob_compile_info info;
                double t0 = now_ms();
                if (iob_gpu_compile(&all[j], 90, &info, &err)) {
                    fprintf(stderr, "bench_compile: %s: %s\n", argv[i], err.msg);
                    rc = 1;
                    break;
                }
                double t = now_ms() - t0;
                total[r] += t;
                slowest[r] = t > slowest[r] ? t : slowest[r];
            }
        }
        if (rc)
            break;
        qsort(total, (size_t)reps, sizeof total[0], by_double);
        qsort(slowest, (size_t)reps, sizeof slowest[0], by_double);
        printf("| `%s` | %d | %.0f | %.0f |\n", argv[i], n, total[reps / 2], slowest[reps / 2]);
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_compile: could not remove %s\n", tmpl);
    return rc;
}
