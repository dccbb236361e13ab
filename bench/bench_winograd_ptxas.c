/* bench_winograd_ptxas.c - compiles the fused Winograd kernel for configs of the model's space
 * with nvcc (sm_90, -Xptxas -v) and sets ptxas's registers, spills and stack beside the model's
 * register estimate (docs/model.md, "Winograd: resources"). No GPU needed, only nvcc.
 *
 *   bench_winograd_ptxas [--top N] [--sample N] [LAYER_SPEC...]
 *
 * For each layer (default: the 3x3 layers of bench/layers/gpu-layers.csv at batch 32 and 1):
 * the N configs with the least predicted time, plus N configs spread evenly over the space.
 * Prints a markdown table; exit status 1 if a config the model accepts spills.
 * Results: docs/results/winograd-ptxas.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu/host_kernels.h"
#include "iobound/dataflow.h"
#include "iobound/plan.h"
#include "model/winograd_dataflow.h"

typedef struct ranked {
    double t;
    size_t i;
} ranked;

static int by_time(const void *a, const void *b)
{
    double x = ((const ranked *)a)->t, y = ((const ranked *)b)->t;
    return x < y ? -1 : x > y;
}

/* Runs nvcc on src with the launch's macros; fills regs, spill (stores + loads) and stack bytes
 * of iob_winograd_fused from ptxas -v. Returns 0 on success. */
static int ptxas(const char *src, const iob_launch *l, int *regs, int *spill, int *stack)
{
    char cmd[sizeof l->defines + 512];
    int len = snprintf(cmd, sizeof cmd,
                       "nvcc -cubin -arch=sm_90 -Xptxas -v %s -o /dev/null %s 2>&1", l->defines,
                       src);
    if (len < 0 || (size_t)len >= sizeof cmd)
        return -1;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    int in_fused = 0, found = 0;
    *regs = *spill = *stack = -1;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, "Function properties for"))
            in_fused = strstr(line, "iob_winograd_fused") != NULL;
        if (!in_fused)
            continue;
        int a, b, c;
        if (sscanf(line, " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &a,
                   &b, &c) == 3) {
            *stack = a;
            *spill = b + c;
        }
        const char *u = strstr(line, "Used ");
        if (u && sscanf(u, "Used %d registers", &a) == 1) {
            *regs = a;
            found = 1;
        }
    }
    int st = pclose(p);
    return found && st == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int top = 3, sample = 4;
    const char *defaults[] = {
        "name=resnet50.res2.3x3,n=32,c=64,h=56,k=64,r=3,pad=1",
        "name=resnet50.res3.3x3,n=32,c=128,h=28,k=128,r=3,pad=1",
        "name=resnet50.res4.3x3,n=32,c=256,h=14,k=256,r=3,pad=1",
        "name=resnet50.res5.3x3,n=32,c=512,h=7,k=512,r=3,pad=1",
        "name=vgg16.conv1_2,n=32,c=64,h=224,k=64,r=3,pad=1",
        "name=vgg16.conv2_2,n=32,c=128,h=112,k=128,r=3,pad=1",
        "name=vgg16.conv3_2,n=32,c=256,h=56,k=256,r=3,pad=1",
        "name=vgg16.conv4_2,n=32,c=512,h=28,k=512,r=3,pad=1",
        "name=vgg16.conv5_2,n=32,c=512,h=14,k=512,r=3,pad=1",
        "name=vgg16.conv5_2,n=1,c=512,h=14,k=512,r=3,pad=1",
        "name=resnet50.res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1",
    };
    const char **specs = defaults;
    int nspecs = (int)(sizeof defaults / sizeof defaults[0]);
    int first = 1;
    while (first < argc && !strncmp(argv[first], "--", 2)) {
        if (!strcmp(argv[first], "--top") && first + 1 < argc)
            top = atoi(argv[++first]);
        else if (!strcmp(argv[first], "--sample") && first + 1 < argc)
            sample = atoi(argv[++first]);
        else {
            fprintf(stderr, "bench_winograd_ptxas: unknown option %s\n", argv[first]);
            return 2;
        }
        first++;
    }
    if (first < argc) {
        specs = (const char **)argv + first;
        nspecs = argc - first;
    }
    const iob_kernel_file *k = iob_kernel_file_find("winograd.cu");
    char dir[] = "/tmp/iob_wino_ptxas_XXXXXX", src[64];
    FILE *f = NULL;
    if (k && mkdtemp(dir)) {
        snprintf(src, sizeof src, "%s/winograd.cu", dir);
        f = fopen(src, "w");
    }
    if (!f || fwrite(k->source, 1, k->size, f) != k->size || fclose(f)) {
        fprintf(stderr, "bench_winograd_ptxas: cannot write the kernel source\n");
        return 1;
    }
    iob_machine m;
    iob_error err;
    iob_machine_get("h100-sxm", &m, &err);
    printf("| layer | config | threads | model regs | cap | ptxas regs | spill B | stack B |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int bad = 0;
    for (int s = 0; s < nspecs; s++) {
        iob_layer L;
        if (iob_layer_parse(specs[s], &L, &err)) {
            fprintf(stderr, "bench_winograd_ptxas: %s\n", err.msg);
            return 2;
        }
        iob_config *all;
        size_t n;
        if (iob_dataflow_enumerate(&L, IOB_ALGO_WINOGRAD, &m, &all, &n, &err) || n == 0)
            continue;
        ranked *r = malloc(n * sizeof *r);
        for (size_t i = 0; i < n; i++) {
            iob_traffic t;
            iob_dataflow_predict(&L, &all[i], &m, &t, &err);
            r[i] = (ranked){t.time_s, i};
        }
        qsort(r, n, sizeof *r, by_time);
        for (int j = 0; j < top + sample; j++) {
            /* the top configs, then `sample` spread evenly over the space */
            size_t idx = j < top ? r[j].i
                                 : (size_t)(j - top) * n / (size_t)sample + n / (2 * (size_t)sample);
            if (idx >= n)
                continue;
            iob_plan plan;
            iob_resources res;
            iob_dataflow_check(&L, &all[idx], &m, &res, &err);
            if (iob_plan_build(&L, &all[idx], &m, &plan, &err)) {
                fprintf(stderr, "bench_winograd_ptxas: %s\n", err.msg);
                return 1;
            }
            int regs, spill, stack;
            char text[256];
            iob_config_format(&all[idx], text, sizeof text);
            if (ptxas(src, &plan.launch[0], &regs, &spill, &stack)) {
                printf("| %s | %s | nvcc failed |\n", L.name, text);
                bad = 1;
                continue;
            }
            /* what ptxas may use at the model's occupancy (__launch_bounds__ minimum blocks) */
            int cap = iob_wino_reg_cap(&m, res.threads, res.blocks_per_sm);
            printf("| %s%s | %s | %d | %d | %d | %d | %d | %d |\n", L.name, j < top ? " (top)" : "",
                   text + strlen("algo=winograd,"), res.threads, res.regs_per_thread, cap, regs,
                   spill, stack);
            fflush(stdout);
            bad |= spill > 0;
        }
        free(r);
        free(all);
    }
    unlink(src);
    rmdir(dir);
    return bad;
}
