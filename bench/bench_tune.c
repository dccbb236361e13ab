/* bench_tune.c - what tuning one layer costs before any kernel runs: building the search space
 * (enumerate, predict, bound, rank: the model's share of the 5 s per layer of issue 9) and, in a
 * build with CUDA, NVRTC's compile time for the K configs the tuner would measure (sm_90, the
 * kernel sources and macros of the config's plan). No GPU needed.
 *
 *   bench_tune LAYERS.csv [BATCH] [FACTOR]
 *
 * Prints per layer: feasible, kept, K, space build ms (median of 3), and the mean and largest
 * NVRTC seconds over the K configs (first launch of each plan). The compile options here are
 * NVRTC's defaults plus the plan's macros; the executor's own options may differ a little. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu/host_kernels.h"
#include "iobound/plan.h"
#include "iobound/tune.h"

#ifdef IOB_WITH_CUDA
#include <nvrtc.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* NVRTC seconds for the first launch of cfg's plan; < 0 when there is no plan or no NVRTC. */
static double compile_s(const iob_layer *L, const iob_config *cfg, const iob_machine *m)
{
#ifdef IOB_WITH_CUDA
    iob_plan plan;
    if (iob_plan_build(L, cfg, m, &plan, NULL) || plan.nlaunch < 1)
        return -1;
    const iob_launch *l = &plan.launch[0];
    const iob_kernel_file *f = iob_kernel_file_find(l->file);
    if (!f)
        return -1;
    char defs[sizeof l->defines];
    memcpy(defs, l->defines, sizeof defs);
    const char *opts[80];
    int n = 0;
    opts[n++] = "--gpu-architecture=sm_90";
    opts[n++] = "-std=c++17";
    for (char *save = NULL, *t = strtok_r(defs, " ", &save); t && n < 80;
         t = strtok_r(NULL, " ", &save))
        opts[n++] = t;
    nvrtcProgram prog;
    if (nvrtcCreateProgram(&prog, f->source, f->name, 0, NULL, NULL) != NVRTC_SUCCESS)
        return -1;
    double t0 = now();
    nvrtcResult r = nvrtcCompileProgram(prog, n, opts);
    double dt = now() - t0;
    nvrtcDestroyProgram(&prog);
    return r == NVRTC_SUCCESS ? dt : -1;
#else
    (void)L, (void)cfg, (void)m;
    return -1;
#endif
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_tune LAYERS.csv [BATCH] [FACTOR]\n");
        return 2;
    }
    iob_layer_list layers = {0};
    iob_error err;
    if (iob_layers_read_file(argv[1], &layers, &err)) {
        fprintf(stderr, "bench_tune: %s\n", err.msg);
        return 2;
    }
    long batch = argc > 2 ? atol(argv[2]) : 0;
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    if (argc > 3)
        o.factor = atof(argv[3]);
    iob_tune_source src = iob_tune_source_model();
    printf("%-22s %5s %9s %7s %3s %9s %9s %9s\n", "layer", "batch", "feasible", "kept", "K",
           "build ms", "nvrtc s", "max s");
    for (size_t i = 0; i < layers.count; i++) {
        iob_layer *L = &layers.items[i];
        if (batch > 0)
            L->n = batch;
        double t[3];
        iob_tune_space s;
        memset(&s, 0, sizeof s);
        int ok = 1;
        for (int r = 0; r < 3 && ok; r++) {
            iob_tune_space_free(&s);
            double t0 = now();
            ok = iob_tune_space_build(L, &m, &src, &o, &s, &err) == IOB_OK;
            t[r] = now() - t0;
        }
        if (!ok) {
            printf("%-22s %5lld  %s\n", L->name, (long long)L->n, err.msg);
            continue;
        }
        qsort(t, 3, sizeof t[0], cmp_double);
        size_t k = iob_tune_budget(s.count, s.kept, &o);
        double sum = 0, most = 0;
        int compiled = 0;
        for (size_t j = 0; j < k; j++) {
            double c = compile_s(L, &s.cands[j].cfg, &m);
            if (c < 0)
                continue;
            sum += c;
            most = c > most ? c : most;
            compiled++;
        }
        printf("%-22s %5lld %9zu %7zu %3zu %9.1f", L->name, (long long)L->n, s.count, s.kept, k,
               1e3 * t[1]);
        if (compiled)
            printf(" %9.3f %9.3f\n", sum / compiled, most);
        else
            printf(" %9s %9s\n", "-", "-");
        iob_tune_space_free(&s);
    }
    iob_layer_list_free(&layers);
    return 0;
}
