/* bench_dataflow.c - a dataflow (direct by default) against the lower bound and the speed of its
 * closed form (issue 4 targets; results in docs/results/dataflow.md).
 *
 * For every layer of a CSV (default bench/layers/gpu-layers.csv): the size of the config space,
 * the time to enumerate it (candidates + checks) and to predict every feasible config, the best
 * config by predicted SM<->L2 traffic, its traffic against the algorithm's bound
 * (bound_bytes_gpu) and against the bound's leading term alone, and the best config by predicted
 * time. For im2col and im2win the traffic is split into the transform's (read + write) and the
 * direct kernel's on the derived layer (input / filter / stores).
 *
 *     bench_dataflow [FILE] [--algo A] [--machine NAME] [--only-3x3] [--batch N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iobound/dataflow.h"
#include "model/band_model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *path = "bench/layers/gpu-layers.csv", *mname = "h100-sxm";
    int only3 = 0;
    long batch = 0;
    iob_algo algo = IOB_ALGO_DIRECT;
    iob_error err;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--algo") && i + 1 < argc) {
            if (iob_algo_parse(argv[++i], &algo, &err)) {
                fprintf(stderr, "bench_dataflow: %s\n", err.msg);
                return 2;
            }
        } else if (!strcmp(argv[i], "--machine") && i + 1 < argc)
            mname = argv[++i];
        else if (!strcmp(argv[i], "--only-3x3"))
            only3 = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atol(argv[++i]);
        else
            path = argv[i];
    }
    iob_machine m;
    iob_layer_list list = {0};
    if (iob_machine_get(mname, &m, &err) || iob_layers_read_file(path, &list, &err)) {
        fprintf(stderr, "bench_dataflow: %s\n", err.msg);
        return 2;
    }
    iob_bound_opts bo = iob_bound_opts_for(&m, 4);
    const char *an = iob_algo_name(algo);
    const iob_band_algo *band = algo == IOB_ALGO_IM2COL   ? &iob_band_im2col
                                : algo == IOB_ALGO_IM2WIN ? &iob_band_im2win
                                                          : NULL;
    printf("## Best %s config by predicted SM<->L2 traffic, against the bound (%s)\n\n", an, mname);
    printf("| layer | n | configs | enumerate ms | enumerate + predict ms | best config (traffic) | "
           "SM<->L2 MB | %sinput / filter / stores MB | bound MB | ratio | leading term MB | "
           "ratio to leading | compulsory MB |\n", band ? "transform MB | GEMM " : "");
    printf("|---|---|---|---|---|---|---|%s---|---|---|---|---|---|\n", band ? "---|" : "");
    char timebuf[24][512];
    int ntime = 0;
    for (size_t li = 0; li < list.count; li++) {
        iob_layer L = list.items[li];
        if (batch)
            L.n = batch;
        if (only3 && !(L.r == 3 && L.s == 3))
            continue;
        iob_config *all = NULL;
        size_t n = 0;
        double t_enum[5], t_all[5];
        size_t bi = 0, ti = 0;
        double bv = 0, tv = 0, bt_time = 0;
        iob_traffic tt;
        memset(&tt, 0, sizeof tt);
        for (int rep = 0; rep < 5; rep++) {
            free(all);
            double t0 = now();
            if (iob_dataflow_enumerate(&L, algo, &m, &all, &n, &err)) {
                fprintf(stderr, "bench_dataflow: %s\n", err.msg);
                return 1;
            }
            double t1 = now();
            iob_traffic x;
            for (size_t i = 0; i < n; i++) {
                if (iob_dataflow_predict(&L, &all[i], &m, &x, &err))
                    continue;
                double v = (double)(x.l2_read_bytes + x.l2_write_bytes);
                /* ties on traffic: the faster */
                if (i == 0 || v < bv || (v == bv && x.time_s < bt_time)) {
                    bv = v;
                    bi = i;
                    bt_time = x.time_s;
                }
                if (i == 0 || x.time_s < tv) {
                    tv = x.time_s;
                    ti = i;
                    tt = x;
                }
            }
            double t2 = now();
            t_enum[rep] = (t1 - t0) * 1e3;
            t_all[rep] = (t2 - t0) * 1e3;
        }
        qsort(t_enum, 5, sizeof t_enum[0], cmp_double);
        qsort(t_all, 5, sizeof t_all[0], cmp_double);
        if (n == 0) {
            printf("| %s | %lld | 0 | %.1f | - | %s | | | | | | | |\n", L.name, (long long)L.n,
                   t_enum[2], err.msg);
            free(all);
            continue;
        }
        iob_bound b[4];
        int nb;
        int64_t sec[5];
        iob_band_setup bs;
        iob_band_counts bc = {0};
        const iob_layer *DL = &L;
        const iob_config *dc = &all[bi];
        if (band) {
            if (iob_band_setup_get(band, &L, &all[bi], &m, &bs, &err)) {
                fprintf(stderr, "bench_dataflow: %s\n", err.msg);
                return 1;
            }
            iob_band_count(&L, &bs.g, &bc);
            DL = &bs.derived;
            dc = &bs.dcfg;
        }
        if (iob_bound_layer(&L, algo, &bo, b, 4, &nb, &err) ||
            iob_direct_sectors(DL, dc, sec, &err)) {
            fprintf(stderr, "bench_dataflow: %s\n", err.msg);
            return 1;
        }
        char xf[64] = "";
        if (band)
            snprintf(xf, sizeof xf, "%.1f + %.1f | ", bc.read_sectors * 32 / 1e6,
                     bc.write_sectors * 32 / 1e6);
        char cb[256], ct[256];
        iob_config_format(&all[bi], cb, sizeof cb);
        iob_config_format(&all[ti], ct, sizeof ct);
        double bound = b[0].bound_gpu * 4, lead = b[0].leading * 4, comp = b[0].compulsory * 4;
        printf("| %s | %lld | %zu | %.1f | %.1f | %s | %.1f | %s%.1f / %.1f / %.1f | %.1f | %.2f | "
               "%.1f | %.2f | %.1f |\n",
               L.name, (long long)L.n, n, t_enum[2], t_all[2], strchr(cb, ',') + 1, bv / 1e6, xf,
               sec[0] * 32 / 1e6, sec[1] * 32 / 1e6, (sec[2] + sec[3] + sec[4]) * 32 / 1e6,
               bound / 1e6, bv / bound, lead / 1e6, bv / lead, comp / 1e6);
        if (ntime < 24)
            snprintf(timebuf[ntime++], sizeof timebuf[0], "| %s | %lld | %s | %.1f | %s | %.2f |",
                     L.name, (long long)L.n, strchr(ct, ',') + 1, tv * 1e6, tt.time_limiter,
                     (double)(tt.l2_read_bytes + tt.l2_write_bytes) / bound);
        free(all);
    }
    printf("\n## Best %s config by predicted time (%s)\n\n", an, mname);
    printf("| layer | n | best config (time) | predicted us | limiter | SM<->L2 / bound |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int i = 0; i < ntime; i++)
        printf("%s\n", timebuf[i]);
    iob_layer_list_free(&list);
    return 0;
}
