/* bench_schedule_gap.c - which side of the direct dataflow's gap to its bound is loose (issue 4,
 * docs/results/dataflow.md): the best explicit schedule of a simple family on the bound's own
 * machine (iob_schedule_direct, model/schedule_direct.c: P processors, each with S words of fast
 * memory and nothing else), beside the bound and beside our kernel's best config.
 *
 * A small family/bound says the bound is nearly tight and the kernel's gap is the kernel's (its
 * resident set is its registers, 32,768 accumulators, against S = 123,904 words); a large one
 * says the bound (or this family) is loose there.
 *
 *     bench_schedule_gap [FILE] [--only-3x3] [--batch N] [--machine NAME]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/dataflow.h"

int main(int argc, char **argv)
{
    const char *path = "bench/layers/gpu-layers.csv", *mname = "h100-sxm";
    int only3 = 0;
    long batch = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only-3x3"))
            only3 = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--machine") && i + 1 < argc)
            mname = argv[++i];
        else
            path = argv[i];
    }
    iob_machine m;
    iob_layer_list list = {0};
    iob_error err;
    if (iob_machine_get(mname, &m, &err) || iob_layers_read_file(path, &list, &err)) {
        fprintf(stderr, "bench_schedule_gap: %s\n", err.msg);
        return 2;
    }
    iob_bound_opts bo = iob_bound_opts_for(&m, 4);
    double S = bo.s_words;
    printf("| layer | n | bound MB | best schedule of the family MB | its tile (tk x tn x tp x tq, tc) "
           "| family / bound | our kernel's best MB | kernel / family |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t li = 0; li < list.count; li++) {
        iob_layer L = list.items[li];
        if (batch > 0) {
            L.n = batch;
            if (iob_layer_finish(&L, &err))
                continue;
        }
        if (only3 && (L.r != 3 || L.s != 3))
            continue;
        iob_bound b[4];
        int nb = 0;
        if (iob_bound_layer(&L, IOB_ALGO_DIRECT, &bo, b, 4, &nb, &err) || nb < 1) {
            fprintf(stderr, "bench_schedule_gap: %s: %s\n", L.name, err.msg);
            continue;
        }
        iob_schedule sch;
        if (iob_schedule_direct(&L, S, &sch, &err)) {
            fprintf(stderr, "bench_schedule_gap: %s: %s\n", L.name, err.msg);
            continue;
        }
        iob_config kc;
        iob_traffic kt;
        double kernel = -1;
        if (!iob_dataflow_best(&L, IOB_ALGO_DIRECT, &m, IOB_OBJ_TRAFFIC, &kc, &kt, NULL))
            kernel = (double)(kt.l2_read_bytes + kt.l2_write_bytes);
        double bound = b[0].bound_gpu * 4, fam = sch.words * 4;
        printf("| %s | %lld | %.1f | %.1f | %lld x %lld x %lld x %lld, %lld | %.2f | %.1f | %.2f |\n",
               L.name, (long long)L.n, bound / 1e6, fam / 1e6, (long long)sch.tk,
               (long long)sch.tn, (long long)sch.tp, (long long)sch.tq, (long long)sch.tc,
               fam / bound,
               kernel > 0 ? kernel / 1e6 : 0.0, kernel > 0 ? kernel / fam : 0.0);
    }
    iob_layer_list_free(&list);
    return 0;
}
