/* bench_winograd_error.c - the numerical error of the fused Winograd kernel's FP32 arithmetic
 * against an FP64 direct convolution, measured on the CPU with tests/winograd_ref.h's emulation,
 * which reproduces the kernel's output bit for bit (tests/test_winograd_emu.c checks that).
 *
 *   bench_winograd_error [SEED [SIDE]]      (SIDE: input height = width, default 20)
 *
 * Metric (docs/model.md, "Winograd: numerical error"): err = |y - ref| / max(FLT_MIN, sum |x w|)
 * over every output; reported as the maximum and the mean, for F(2x2) and F(4x4), C/G from 16 to
 * 1024, with and without a 4-way channel split, inputs uniform in (-1, 1) and in (0, 1) (after a
 * ReLU), filters uniform in (-1, 1) (the split is 2 where C/G = 16 gives only 2 chunks). A plain
 * FP32 direct convolution (taps summed in channel order) is measured beside them for scale. Results: docs/results/winograd-error.md.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/winograd_ref.h"

/* y = direct correlation accumulated in FP32, channel by channel, taps row-major */
static void direct32(const iob_layer *L, const float *x, const float *w, float *y)
{
    for (int64_t k = 0; k < L->k; k++)
        for (int64_t p = 0; p < L->p; p++)
            for (int64_t q = 0; q < L->q; q++) {
                float s = 0.0f;
                for (int64_t c = 0; c < L->c; c++)
                    for (int r = 0; r < 3; r++)
                        for (int t = 0; t < 3; t++)
                            s = fmaf((float)wino_ref_x(L, x, 0, c, p - L->pad_top + r,
                                                       q - L->pad_left + t),
                                     w[((k * L->c + c) * 3 + r) * 3 + t], s);
                y[(k * L->p + p) * L->q + q] = s;
            }
}

static void stats(const float *y, const double *ref, const double *abs_sum, int64_t n,
                  double *max, double *mean)
{
    *max = *mean = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = wino_ref_err(y[i], ref[i], abs_sum[i]);
        *max = e > *max ? e : *max;
        *mean += e / (double)n;
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    int hw = argc > 2 ? atoi(argv[2]) : 20;
    if (hw < 1 || hw > 512) {
        fprintf(stderr, "bench_winograd_error: SIDE must be 1..512\n");
        return 2;
    }
    const int cs[] = {16, 64, 256, 512, 1024};
    printf("| input | C | direct FP32 max / mean | F(2x2) max / mean | F(2x2) split 4 max | "
           "F(4x4) max / mean | F(4x4) split 4 max |\n|---|---|---|---|---|---|---|\n");
    double worst2 = 0, worst4 = 0;
    for (int relu = 0; relu < 2; relu++)
        for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
            char spec[128];
            snprintf(spec, sizeof spec, "n=1,c=%d,h=%d,w=%d,k=8,r=3,pad=1", cs[ci], hw, hw);
            iob_layer L;
            if (iob_layer_parse(spec, &L, NULL))
                return 2;
            int64_t nx = L.c * L.h * L.w, nw = L.k * L.c * 9, ny = L.k * L.p * L.q;
            float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4);
            float *y = malloc((size_t)ny * 4);
            double *ref = malloc((size_t)ny * 8), *abs_sum = malloc((size_t)ny * 8);
            if (!x || !w || !y || !ref || !abs_sum)
                return 1;
            wino_ref_fill(x, (size_t)nx, seed * 7 + ci);
            wino_ref_fill(w, (size_t)nw, seed * 11 + ci);
            if (relu)
                for (int64_t i = 0; i < nx; i++)
                    x[i] = fabsf(x[i]);
            wino_ref_direct64(&L, x, w, ref, abs_sum);
            double d_max, d_mean, e[4][2];
            direct32(&L, x, w, y);
            stats(y, ref, abs_sum, ny, &d_max, &d_mean);
            for (int v = 0; v < 4; v++) {
                int m = v < 2 ? 2 : 4, split = v % 2 ? (cs[ci] / 8 < 4 ? cs[ci] / 8 : 4) : 1;
                char text[256];
                snprintf(text, sizeof text, "algo=winograd,wino_m=%d,tile_k=8,tile_p=%d,tile_q=%d,"
                         "tile_c=8,micro_k=4,micro_p=%d,micro_q=4,stages=2,split_c=%d", m, 2 * m,
                         2 * m, m == 2 ? 4 : 9, split);
                iob_config c;
                if (iob_config_parse(text, &c, NULL) || wino_ref_kernel32(&L, &c, x, w, y))
                    return 1;
                stats(y, ref, abs_sum, ny, &e[v][0], &e[v][1]);
            }
            worst2 = fmax(worst2, fmax(e[0][0], e[1][0]));
            worst4 = fmax(worst4, fmax(e[2][0], e[3][0]));
            printf("| %s | %d | %.2e / %.2e | %.2e / %.2e | %.2e | %.2e / %.2e | %.2e |\n",
                   relu ? "(0, 1)" : "(-1, 1)", cs[ci], d_max, d_mean, e[0][0], e[0][1], e[1][0],
                   e[2][0], e[2][1], e[3][0]);
            fflush(stdout);
            free(x);
            free(w);
            free(y);
            free(ref);
            free(abs_sum);
        }
    printf("\nlargest: F(2x2) %.2e, F(4x4) %.2e\n", worst2, worst4);
    return 0;
}
