/* winograd.c - Winograd F(m x m, r x r): the transform matrices, and the I/O lower bound of the
 * algorithm with its transforms fused into one kernel and with them stored in memory.
 *
 * Sub-computations (the seed paper's composite algorithm): filter transform U = G g G^T, input
 * transform V = B^T d B per tile and channel, element-wise products summed over channels
 * M_xi(tile, k) = sum_c U_xi(k, c) V_xi(tile, c) (EWMM: alpha^2 independent GEMMs), output
 * transform Y = A^T M A.
 *
 * Fused (docs/bounds.md, Theorem 2): U is read from memory (filters are transformed once per
 * model), V is made from d inside the kernel and M is consumed by the output transform. Per
 * frequency xi, LW gives F_xi <= sqrt(|U_xi| |M_xi| |V_xi|), and V_xi values available in a
 * segment number at most gamma*|d| plus resident ones, gamma = ceil(alpha/m)^2 (the most tiles
 * whose patches hold one input). Summing over xi with Cauchy-Schwarz: F <= sqrt(gamma |U| |M| |B|)
 * with B = d and resident V: the projective form with rho = gamma. Accumulators consumed by the
 * output transform instead of being stored are subtracted (|M| - |Y|, Lemma 4).
 * Operations: products whose V_xi depends on at least one real input (others are identically 0)
 * and whose M_xi feeds at least one kept output (others only feed the cropped part of an edge
 * tile). The stored output transform reads only those live M entries.
 *
 * Stored: four kernels that share no fast memory; the bound is the sum of the transforms'
 * compulsory traffic and the EWMM's GEMM bound (batch alpha^2 * G, m = K/G, n = N*tiles, k = C/G).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iobound/winograd.h"
#include "model/bound_common.h"
#include "model/checked.h"

static const double wino_points[9] = {0, 1, -1, 2, -2, 0.5, -0.5, 3, -3};

int iob_winograd_nnz(const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int cols)
{
    int n = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            n += fabs(mat[i][j]) > 1e-14;
    return n;
}

iob_status iob_winograd_make(int m, int r, iob_winograd *w, iob_error *err)
{
    int alpha = m + r - 1;
    if (m < 1 || r < 2 || alpha > 10)
        return iob_error_set(err, IOB_EINVAL, "F(%d, %d): need m >= 1, r >= 2, m + r - 1 <= 10",
                             m, r);
    memset(w, 0, sizeof *w);
    w->m = m;
    w->r = r;
    w->alpha = alpha;
    int nf = alpha - 1; /* finite points; the last row/column is the point at infinity */
    const double *p = wino_points;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < nf; j++)
            w->AT[i][j] = pow(p[j], i);
        w->AT[i][nf] = i == m - 1;
    }
    for (int j = 0; j < nf; j++) {
        double f = 1;
        for (int l = 0; l < nf; l++)
            if (l != j)
                f *= p[j] - p[l];
        for (int k = 0; k < r; k++)
            w->G[j][k] = pow(p[j], k) / f;
        /* BT row j: coefficients of N_j(x) = prod_{l != j} (x - p_l) */
        double coef[IOB_WINO_ALPHA_MAX] = {1};
        int deg = 0;
        for (int l = 0; l < nf; l++) {
            if (l == j)
                continue;
            for (int d = deg + 1; d > 0; d--)
                coef[d] = coef[d - 1] - p[l] * coef[d];
            coef[0] = -p[l] * coef[0];
            deg++;
        }
        for (int i = 0; i < alpha; i++)
            w->BT[j][i] = coef[i];
    }
    for (int k = 0; k < r; k++)
        w->G[nf][k] = k == r - 1;
    double coef[IOB_WINO_ALPHA_MAX] = {1};
    for (int l = 0; l < nf; l++) { /* M(x) = prod_l (x - p_l) */
        for (int d = l + 1; d > 0; d--)
            coef[d] = coef[d - 1] - p[l] * coef[d];
        coef[0] = -p[l] * coef[0];
    }
    for (int i = 0; i < alpha; i++)
        w->BT[nf][i] = coef[i];
    return IOB_OK;
}

/* Per-axis frequency counts summed over the tiles of one axis: frequency xi of tile t is
 *   `real`  when its B^T row reaches a real input (t*m - pad + i in [0, extent) for a nonzero
 *           BT[xi][i]); otherwise V_xi is identically 0 and its products are not operations;
 *   `live`  when its A^T column feeds a kept output (t*m + i < out for a nonzero AT[i][xi]);
 *           otherwise M_xi only feeds cropped outputs of the edge tile and is never needed.
 * `both` counts the frequencies that are real and live. Interior tiles (every frequency real and
 * live) and tiles that see only padding are counted in O(1). */
typedef struct axis_freqs {
    int64_t real, live, both;
} axis_freqs;

static axis_freqs axis_count_freqs(const iob_winograd *w, int64_t extent, int64_t out,
                                   int64_t tiles, int64_t pad)
{
    int64_t m = w->m, alpha = w->alpha;
    /* interior: the patch lies inside the input and the tile's m outputs are all kept */
    int64_t t_in_lo = iob_ceil_div(pad, m);
    int64_t t_in_hi = iob_min64(iob_floor_div(extent - alpha + pad, m), out / m - 1);
    axis_freqs f = {0, 0, 0};
    for (int64_t t = 0; t < tiles; t++) {
        if (t >= t_in_lo && t <= t_in_hi) {
            int64_t last = iob_min64(t_in_hi, tiles - 1);
            f.real += (last - t + 1) * alpha;
            f.live += (last - t + 1) * alpha;
            f.both += (last - t + 1) * alpha;
            t = last;
            continue;
        }
        int64_t start = t * m - pad;
        /* spans of tiles whose patches see only padding (real = 0), skipped in O(1) except the
         * last tile, whose outputs may be cropped */
        int64_t span_end = -1;
        if (start + alpha - 1 < 0)
            span_end = iob_min64(iob_ceil_div(pad - alpha + 1, m), tiles - 1);
        else if (start >= extent)
            span_end = tiles - 1;
        if (span_end > t) {
            f.live += (span_end - t) * alpha; /* tiles before the last keep all their outputs */
            t = span_end - 1;
            continue;
        }
        for (int xi = 0; xi < alpha; xi++) {
            int real = 0, live = 0;
            for (int i = 0; i < alpha && !real; i++)
                real = fabs(w->BT[xi][i]) > 1e-14 && start + i >= 0 && start + i < extent;
            for (int i = 0; i < m && !live; i++)
                live = fabs(w->AT[i][xi]) > 1e-14 && t * m + i < out;
            f.real += real;
            f.live += live;
            f.both += real && live;
        }
    }
    return f;
}

/* What the fused kernel's operations need along one axis: the frequencies xi that are real and
 * live in at least one tile (their U_xi must be read) and the input positions in the B^T support
 * of such a frequency of such a tile (they must be read). Interior tiles need every frequency and
 * their whole patch; only edge tiles are inspected. */
static void axis_needed(const iob_winograd *w, int64_t extent, int64_t out, int64_t tiles,
                        int64_t pad, int64_t *n_freq, int64_t *n_inputs)
{
    int64_t m = w->m, alpha = w->alpha;
    int64_t t_in_lo = iob_ceil_div(pad, m);
    int64_t t_in_hi = iob_min64(iob_floor_div(extent - alpha + pad, m), out / m - 1);
    t_in_hi = iob_min64(t_in_hi, tiles - 1);
    int freq_used[IOB_WINO_ALPHA_MAX] = {0};
    int64_t lo = 0, hi = 0; /* interior positions [lo, hi) */
    if (t_in_hi >= t_in_lo) {
        lo = t_in_lo * m - pad;
        hi = t_in_hi * m - pad + alpha;
        for (int xi = 0; xi < alpha; xi++)
            freq_used[xi] = 1;
    }
    /* edge tiles: the real ones near either end of the input (others see only padding) */
    int64_t extra[4 * IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
    int nextra = 0;
    for (int side = 0; side < 2; side++) {
        int64_t t0 = side == 0 ? iob_max64(0, iob_ceil_div(pad - alpha + 1, m)) : t_in_hi + 1;
        int64_t t1 = side == 0 ? iob_min64(tiles - 1, t_in_lo - 1)
                               : iob_min64(tiles - 1, iob_floor_div(extent - 1 + pad, m));
        if (side == 1 && t0 <= t_in_lo - 1 && t_in_hi < t_in_lo)
            t0 = t_in_lo; /* no interior: side 0 already covered tiles below t_in_lo */
        for (int64_t t = t0; t <= t1; t++) {
            int64_t start = t * m - pad;
            for (int xi = 0; xi < alpha; xi++) {
                int real = 0, live = 0;
                for (int i = 0; i < alpha && !real; i++)
                    real = fabs(w->BT[xi][i]) > 1e-14 && start + i >= 0 && start + i < extent;
                for (int i = 0; i < m && !live; i++)
                    live = fabs(w->AT[i][xi]) > 1e-14 && t * m + i < out;
                if (!(real && live))
                    continue;
                freq_used[xi] = 1;
                for (int i = 0; i < alpha; i++) {
                    int64_t x = start + i;
                    if (fabs(w->BT[xi][i]) > 1e-14 && x >= 0 && x < extent && (x < lo || x >= hi)) {
                        int dup = 0;
                        for (int e = 0; e < nextra && !dup; e++)
                            dup = extra[e] == x;
                        if (!dup && nextra < (int)(sizeof extra / sizeof extra[0]))
                            extra[nextra++] = x;
                    }
                }
            }
        }
    }
    *n_freq = 0;
    for (int xi = 0; xi < alpha; xi++)
        *n_freq += freq_used[xi];
    *n_inputs = (hi > lo ? hi - lo : 0) + nextra;
}

/* Real input positions inside the union of the patches of one axis. */
static int64_t axis_patch_inputs(int64_t extent, int64_t tiles, int64_t m, int64_t alpha,
                                 int64_t pad)
{
    int64_t hi = iob_min64(extent, (tiles - 1) * m - pad + alpha);
    int64_t lo = iob_max64(0, -pad);
    return hi > lo ? hi - lo : 0;
}

/* FLOPs of X = mat * D * mat^T (mat rows x cols, D cols x cols): each product costs one
 * multiply-add per nonzero of mat per column of the other factor. */
static double transform_flops(const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int cols)
{
    int nnz = iob_winograd_nnz(mat, rows, cols);
    return 2.0 * nnz * (cols + rows);
}

iob_status iob_bound_winograd(const iob_layer *L, int m, int fused, const iob_bound_opts *opts,
                              iob_bound *out, iob_error *err)
{
    iob_status st = iob_bound_opts_check(opts, err);
    if (st)
        return st;
    char variant[48];
    snprintf(variant, sizeof variant, "F(%dx%d,%lldx%lld) %s", m, m, (long long)L->r,
             (long long)L->s, fused ? "fused" : "stored");
    iob_bound_start(out, IOB_ALGO_WINOGRAD, variant, opts);
    /* a variant that does not apply is reported once, as "winograd", with the reason */
    int applies = L->r == L->s && (L->r == 3 || L->r == 5) && L->stride_h == 1 &&
                  L->stride_w == 1 && L->dil_h == 1 && L->dil_w == 1;
    if (!applies)
        snprintf(out->variant, sizeof out->variant, "winograd");
    if (L->r != L->s) {
        iob_bound_not_applicable(out, "filter %lldx%lld is not square", (long long)L->r,
                                 (long long)L->s);
        return IOB_OK;
    }
    if (L->r != 3 && L->r != 5) {
        iob_bound_not_applicable(out, "only 3x3 and 5x5 filters (this layer: %lldx%lld)",
                                 (long long)L->r, (long long)L->s);
        return IOB_OK;
    }
    if (L->stride_h != 1 || L->stride_w != 1) {
        iob_bound_not_applicable(out, "stride %lldx%lld: Winograd's tiles need stride 1",
                                 (long long)L->stride_h, (long long)L->stride_w);
        return IOB_OK;
    }
    if (L->dil_h != 1 || L->dil_w != 1) {
        iob_bound_not_applicable(out, "dilation %lldx%lld: Winograd's tiles need dilation 1",
                                 (long long)L->dil_h, (long long)L->dil_w);
        return IOB_OK;
    }
    if (m != 2 && m != 4 && m != 6)
        return iob_error_set(err, IOB_EINVAL, "Winograd output tile m=%d (expected 2, 4 or 6)", m);
    iob_layer_counts c;
    if ((st = iob_layer_counts_get(L, &c, err)))
        return st;
    iob_winograd w;
    if ((st = iob_winograd_make(m, (int)L->r, &w, err)))
        return st;
    int alpha = w.alpha;
    double a2 = (double)alpha * alpha;
    int64_t th = iob_ceil_div(L->p, m), tw = iob_ceil_div(L->q, m);
    double tiles = (double)th * (double)tw;
    double N = (double)L->n, K = (double)L->k, C = (double)L->c, G = (double)L->groups;
    double Kg = K / G, Cg = C / G;
    axis_freqs fh = axis_count_freqs(&w, L->h, L->p, th, L->pad_top);
    axis_freqs fw = axis_count_freqs(&w, L->w, L->q, tw, L->pad_left);
    double vh = (double)fh.both, vw = (double)fw.both; /* fused: real and live */
    double d_in = N * C * (double)axis_patch_inputs(L->h, th, m, alpha, L->pad_top) *
                  (double)axis_patch_inputs(L->w, tw, m, alpha, L->pad_left);
    double U = a2 * K * Cg, Y = (double)c.output_elems, W = (double)c.weight_elems;
    double V_all = a2 * N * C * tiles, M_all = a2 * N * K * tiles, M_valid = N * K * vh * vw;
    double M_live = N * K * (double)fh.live * (double)fw.live; /* read by the output transform */
    double ops_all = a2 * N * K * Cg * tiles;

    double f_in = transform_flops(w.BT, alpha, alpha) * N * C * tiles;
    double f_out = 2.0 * iob_winograd_nnz(w.AT, m, alpha) * (alpha + m) * N * K * tiles;
    double f_filter = 2.0 * iob_winograd_nnz(w.G, alpha, (int)L->r) * ((double)L->r + alpha) *
                      K * Cg;
    out->flops = 2 * ops_all + f_in + f_out + (fused ? 0 : f_filter);

    if (fused) {
        /* what the operations need: the U of frequencies some tile uses, and the inputs in the
         * support of those frequencies (edge tiles may need neither all of U nor all inputs) */
        int64_t freq_h, freq_w, in_h, in_w;
        axis_needed(&w, L->h, L->p, th, L->pad_top, &freq_h, &in_h);
        axis_needed(&w, L->w, L->q, tw, L->pad_left, &freq_w, &in_w);
        double U_need = (double)freq_h * (double)freq_w * K * Cg;
        double d_need = N * C * (double)in_h * (double)in_w;
        double gamma = ceil((double)alpha / m) * ceil((double)alpha / m);
        iob_pebble pb = {
            .ops = N * K * Cg * vh * vw,
            .rho = gamma,
            .cap = {U_need, d_need + V_all, M_valid},
            .fan = {N * tiles, gamma * a2 * Kg, Cg},
            .unpaid = M_valid > Y ? M_valid - Y : 0,
        };
        out->compulsory = d_need + U_need + Y;
        out->workspace = U; /* the transformed filters */
        iob_bound_finish_pebble(out, &pb);
        iob_bound_add_term(out, "fused transforms + EWMM", pb.ops, out->compulsory,
                           out->bound_gpu);
        return IOB_OK;
    }
    /* stored: filter transform, input transform, EWMM, output transform */
    iob_bound gemm;
    if ((st = iob_bound_gemm((uint64_t)Kg, (uint64_t)(N * tiles), (uint64_t)Cg,
                             (uint64_t)(a2 * G), opts, &gemm, err)))
        return st;
    double t_filter = W + U, t_in = d_in + V_all, t_out = M_live + Y;
    double transforms = t_filter + t_in + t_out;
    out->ops = gemm.ops;
    out->rho = 1;
    out->leading = gemm.leading;
    out->compulsory = transforms + gemm.compulsory;
    out->reuse = transforms + gemm.reuse;
    out->reuse_gpu = transforms + gemm.reuse_gpu;
    out->bound = transforms + gemm.bound;
    out->bound_gpu = transforms + gemm.bound_gpu;
    out->segment_loads = gemm.segment_loads;
    out->workspace = U + V_all + M_all;
    iob_bound_add_term(out, "filter transform", 0, t_filter, t_filter);
    iob_bound_add_term(out, "input transform", 0, t_in, t_in);
    iob_bound_add_term(out, "EWMM", gemm.ops, gemm.compulsory, gemm.bound_gpu);
    iob_bound_add_term(out, "output transform", 0, t_out, t_out);
    const char *dom = "EWMM";
    double best = gemm.bound_gpu;
    if (t_in > best) { dom = "input transform"; best = t_in; }
    if (t_out > best) { dom = "output transform"; best = t_out; }
    if (t_filter > best) { dom = "filter transform"; best = t_filter; }
    snprintf(out->dominant, sizeof out->dominant, "%s", dom);
    return IOB_OK;
}
