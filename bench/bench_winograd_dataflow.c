/* bench_winograd_dataflow.c - the fused Winograd dataflow over the 3x3 layers of a layer file:
 * size of the config space, time to enumerate and to predict all of it (target: under 10 ms; the
 * least of 5 repetitions),
 * and the best config by predicted time with its traffic beside the lower bound.
 *
 *   bench_winograd_dataflow [LAYERS_FILE [BATCH]]
 *     default: bench/layers/gpu-layers.csv as it is (batch 1 and 32 rows); BATCH overrides n.
 *
 * Prints a markdown table. Results: docs/results/winograd-dataflow.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "iobound/bound.h"
#include "iobound/dataflow.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/layers/gpu-layers.csv";
    long batch = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    iob_layer_list list = {0};
    iob_error err;
    if (iob_layers_read_file(path, &list, &err)) {
        fprintf(stderr, "bench_winograd_dataflow: %s\n", err.msg);
        return 2;
    }
    iob_machine m;
    iob_machine_get("h100-sxm", &m, &err);
    iob_bound_opts opts = iob_bound_opts_for(&m, 4);
    printf("| layer | n | configs | enumerate ms | predict all ms | best config (time) | "
           "predicted ms | limiter | L2 MB | bound(GPU) MB | L2 / bound |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < list.count; i++) {
        iob_layer L = list.items[i];
        if (batch > 0) {
            L.n = batch;
            if (iob_layer_finish(&L, &err))
                continue;
        }
        if (L.r != 3 || L.s != 3 || L.stride_h != 1 || L.stride_w != 1)
            continue;
        /* the least of 5 repetitions: this machine's 2 cores are shared */
        double t_enum = 1e30, t_pred = 1e30;
        iob_config *all = NULL;
        size_t n = 0, best = 0;
        iob_traffic t, bt = {0};
        for (int rep = 0; rep < 5; rep++) {
            free(all);
            double t0 = now_ms();
            if (iob_dataflow_enumerate(&L, IOB_ALGO_WINOGRAD, &m, &all, &n, &err) || n == 0)
                break;
            double t1 = now_ms();
            for (size_t j = 0; j < n; j++) {
                if (iob_dataflow_predict(&L, &all[j], &m, &t, &err)) {
                    fprintf(stderr, "bench_winograd_dataflow: %s\n", err.msg);
                    return 1;
                }
                if (j == 0 || t.time_s < bt.time_s) {
                    bt = t;
                    best = j;
                }
            }
            double t2 = now_ms();
            t_enum = t1 - t0 < t_enum ? t1 - t0 : t_enum;
            t_pred = t2 - t1 < t_pred ? t2 - t1 : t_pred;
        }
        if (n == 0) {
            printf("| %s | %lld | 0 | | | %s |\n", L.name, (long long)L.n, err.msg);
            free(all);
            continue;
        }
        char text[256];
        iob_config_format(&all[best], text, sizeof text);
        iob_bound b;
        double bound_mb = 0;
        if (!iob_bound_winograd(&L, all[best].wino_m, 1, &opts, &b, &err) && b.applicable)
            bound_mb = iob_bound_bytes(&b, b.bound_gpu) / 1e6;
        double l2_mb = (double)(bt.l2_read_bytes + bt.l2_write_bytes) / 1e6;
        printf("| %s | %lld | %zu | %.2f | %.2f | %s | %.3f | %s | %.1f | %.1f | %.2f |\n", L.name,
               (long long)L.n, n, t_enum, t_pred, text + sizeof "algo=winograd", bt.time_s * 1e3,
               bt.time_limiter, l2_mb, bound_mb, bound_mb > 0 ? l2_mb / bound_mb : 0);
        free(all);
    }
    iob_layer_list_free(&list);
    return 0;
}
