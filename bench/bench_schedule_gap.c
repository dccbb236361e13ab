/* bench_schedule_gap.c - which side of the direct dataflow's gap to its bound is loose (issue 4,
 * docs/results/dataflow.md): the best explicit schedule of a simple family on the bound's own
 * machine - P processors, each with S words of fast memory and nothing else (no register file, no
 * sectors, no threads) - found by enumeration, beside the bound and beside our kernel's best
 * config.
 *
 * The family: output tiles of tk channels x tn images x tp x tq pixels, each tile's accumulators
 * resident while the input channels stream through in chunks of tc; per chunk the tile's
 * receptive field (the input elements inside the image) and its filter slice are loaded, so
 *     tk*tn*tp*tq + tc*tn*ih*iw + tk*tc*R*S <= S      (ih, iw: the tile's receptive field)
 * is all the fast memory a processor needs, and a tile's traffic is C/tc chunks of (input inside
 * the image + filter slice) plus its outputs stored once. These are valid red-blue pebble
 * schedules (tiles are independent, so any assignment to the P processors works), so the
 * family's best traffic is an upper bound on the least traffic any schedule needs, and
 *     bound <= least possible <= best of the family.
 * A small best/bound says the bound is nearly tight and the kernel's gap is the kernel's (its
 * resident set is its registers, 32,768 accumulators, against S = 123,904 words); a large one
 * says the bound (or this family) is loose there.
 *
 * Tile sides: every value up to 64 and the extent itself (tp, tq), powers of two and the extent
 * (tk, tn, tc). Counts in closed form (per p-block and q-block: the in-image rows and columns of
 * its receptive field).
 *
 *     bench_schedule_gap [FILE] [--only-3x3] [--batch N] [--machine NAME]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/dataflow.h"
#include "model/checked.h"

/* Sum over the blocks of `t` outputs along one axis of the in-image input elements each block's
 * receptive field covers. */
static double axis_inputs(int64_t out, int64_t in, int64_t t, int64_t stride, int64_t dil,
                          int64_t taps, int64_t pad)
{
    double sum = 0;
    for (int64_t b0 = 0; b0 < out; b0 += t) {
        int64_t b1 = b0 + t < out ? b0 + t : out;
        int64_t lo = b0 * stride - pad, hi = (b1 - 1) * stride - pad + (taps - 1) * dil;
        if (dil > 1 || stride > taps * dil) { /* sparse receptive field: count the taps' rows */
            int64_t n = 0;
            for (int64_t x = lo < 0 ? 0 : lo; x <= hi && x < in; x++) {
                int hit = 0;
                for (int64_t o = b0; o < b1 && !hit; o++)
                    for (int64_t r = 0; r < taps && !hit; r++)
                        hit = o * stride - pad + r * dil == x;
                n += hit;
            }
            sum += (double)n;
        } else {
            lo = lo < 0 ? 0 : lo;
            hi = hi >= in ? in - 1 : hi;
            sum += hi >= lo ? (double)(hi - lo + 1) : 0;
        }
    }
    return sum;
}

static int side_values(int64_t extent, int64_t *v)
{
    int n = 0;
    for (int64_t x = 1; x <= 64 && x < extent; x++)
        v[n++] = x;
    v[n++] = extent;
    return n;
}

static int pow2_values(int64_t extent, int64_t *v)
{
    int n = 0;
    for (int64_t x = 1; x < extent; x *= 2)
        v[n++] = x;
    v[n++] = extent;
    return n;
}

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
        int64_t cg = L.c / L.groups, kg = L.k / L.groups;
        int64_t tpv[80], tqv[80], tkv[24], tnv[24], tcv[24];
        int ntp = side_values(L.p, tpv), ntq = side_values(L.q, tqv);
        int ntk = pow2_values(kg, tkv), ntn = pow2_values(L.n, tnv), ntc = pow2_values(cg, tcv);
        double best = -1;
        int64_t bk = 0, bn = 0, bp = 0, bq = 0, bc = 0;
        for (int a = 0; a < ntp; a++) {
            int64_t tp = tpv[a];
            double rows = axis_inputs(L.p, L.h, tp, L.stride_h, L.dil_h, L.r, L.pad_top);
            int64_t ih = (tp - 1) * L.stride_h + (L.r - 1) * L.dil_h + 1;
            for (int c = 0; c < ntq; c++) {
                int64_t tq = tqv[c];
                double cols = axis_inputs(L.q, L.w, tq, L.stride_w, L.dil_w, L.s, L.pad_left);
                int64_t iw = (tq - 1) * L.stride_w + (L.s - 1) * L.dil_w + 1;
                double pq_blocks = (double)iob_ceil_div(L.p, tp) * (double)iob_ceil_div(L.q, tq);
                for (int d = 0; d < ntk; d++)
                    for (int e = 0; e < ntn; e++)
                        for (int f = 0; f < ntc; f++) {
                            int64_t tk = tkv[d], tn = tnv[e], tc = tcv[f];
                            double fast = (double)tk * tn * tp * tq + (double)tc * tn * ih * iw +
                                          (double)tk * tc * L.r * L.s;
                            if (fast > S)
                                continue;
                            /* every (group, k-block) reads every image's receptive fields of its
                             * group's channels; every (group, n-block, p-block, q-block) reads
                             * its group's whole filter */
                            double in = (double)L.groups * (double)iob_ceil_div(kg, tk) *
                                        (double)L.n * (double)cg * rows * cols;
                            double filt = (double)L.groups * (double)iob_ceil_div(L.n, tn) *
                                          pq_blocks * (double)kg * (double)cg * L.r * L.s;
                            double out = (double)L.n * L.k * L.p * L.q;
                            double words = in + filt + out;
                            if (best < 0 || words < best) {
                                best = words;
                                bk = tk, bn = tn, bp = tp, bq = tq, bc = tc;
                            }
                        }
            }
        }
        iob_config kc;
        iob_traffic kt;
        double kernel = -1;
        if (!iob_dataflow_best(&L, IOB_ALGO_DIRECT, &m, IOB_OBJ_TRAFFIC, &kc, &kt, NULL))
            kernel = (double)(kt.l2_read_bytes + kt.l2_write_bytes);
        double bound = b[0].bound_gpu * 4, fam = best * 4;
        printf("| %s | %lld | %.1f | %.1f | %lld x %lld x %lld x %lld, %lld | %.2f | %.1f | %.2f |\n",
               L.name, (long long)L.n, bound / 1e6, fam / 1e6, (long long)bk, (long long)bn,
               (long long)bp, (long long)bq, (long long)bc, fam / bound,
               kernel > 0 ? kernel / 1e6 : 0.0, kernel > 0 ? kernel / fam : 0.0);
    }
    iob_layer_list_free(&list);
    return 0;
}
