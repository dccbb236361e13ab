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
    /* IOB_WINO_U_PREPARED: stored, with U made once per layer beforehand (a prep the run does not
     * include: the non-fused kernels' plan) */
    int prepared = fused == IOB_WINO_U_PREPARED;
    if (prepared)
        fused = IOB_WINO_STORED;
    char variant[48];
    snprintf(variant, sizeof variant, "F(%dx%d,%lldx%lld) %s", m, m, (long long)L->r,
             (long long)L->s, fused ? "fused" : prepared ? "stored, U prepared" : "stored");
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
    out->flops = 2 * ops_all + f_in + f_out + (fused || prepared ? 0 : f_filter);

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
    double t_filter = prepared ? 0 : W + U, t_in = d_in + V_all, t_out = M_live + Y;
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
    if (!prepared)
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

/* ==== The fused kernel's dataflow: config space, resources, predicted traffic ================
 *
 * Specification: docs/model.md, section "Winograd" (the kernel gpu/kernels/winograd.cu and the
 * trace sim/trace_winograd.c implement the same text). Counting rules:
 *   SM <-> L2 reads: per block and pipeline stage, the distinct 32-byte sectors of each tensor
 *   that the stage loads (U slice; real input elements of the patch, padding is zero fill);
 *   writes: per block, the distinct sectors it stores. The input's sectors are counted in closed
 *   form by residues modulo 8 (box_sectors below): a row segment covers
 *   floor((a + hi)/8) - floor((a + lo)/8) + 1 sectors when its row starts at element a, and two
 *   segments that follow each other in memory share at most their boundary sector.
 *   Shared memory: data bytes of every LDS/STS and cp.async (per thread, as the counter
 *   sm__sass_data_bytes_mem_shared counts them), from the loop nest's exact trip counts.
 *   FFMA: only the EWMM's (the transforms are FMUL/FADD by construction).
 */
#include <stdlib.h>

#include "model/dataflow_algo.h"
#include "model/winograd_dataflow.h"

#define WINO_SMEM_RESERVED 1024 /* bytes the runtime reserves per block on cc >= 8.0 [CG] */
#define WINO_LAUNCH_S 3e-6      /* per-launch overhead of the time model (docs/model.md) */

static int is_vec_width(int v) { return v == 1 || v == 2 || (v > 0 && v % 4 == 0); }

/* The paired term rule; for the GPU, gpu/host_winograd.c (define_rule) takes the same decisions
 * and gpu/kernels/winograd.cu (wino_apply_bt, wino_apply_at) executes them as straight-line code,
 * and tests/test_winograd_emu.c holds the two equal bit
 * for bit and operation for operation. */
static float rule_dot(const float *coef, const float *x, int n, int parity, iob_wino_ops *ops)
{
    float acc = 0.0f;
    int first = 1;
    for (int i = 0; i < n; i++) {
        float c = coef[i], v = x[i];
        if (c == 0.0f || (parity != 2 && (i & 1) != parity))
            continue;
        int unit = c == 1.0f || c == -1.0f;
        if (!unit)
            ops->fmul++;
        if (!first)
            ops->fadd++;
        float t = c == 1.0f ? v : c == -1.0f ? -v : c * v;
        acc = first ? t : acc + t;
        first = 0;
    }
    return acc;
}

int iob_wino_col_pair(const float *M, int rows, int n, int c)
{
    int any = 0;
    for (int r = 0; r < rows; r++) {
        float a = M[r * n + c], b = M[r * n + c + 1];
        if (b != ((r & 1) ? -a : a))
            return 0;
        any |= a != 0.0f;
    }
    return any;
}

int iob_wino_row_pair(const float *M, int n, int r)
{
    int even = 0, odd = 0;
    for (int i = 0; i < n; i++) {
        float a = M[r * n + i], b = M[(r + 1) * n + i];
        if (b != ((i & 1) ? -a : a))
            return 0;
        if (a != 0.0f) {
            even |= !(i & 1);
            odd |= i & 1;
        }
    }
    return even && odd;
}

void iob_wino_apply_f32(const float *M, int rows, int n, const float *x, float *y, int ys,
                        iob_wino_ops *ops)
{
    iob_wino_ops tmp = {0, 0};
    if (!ops)
        ops = &tmp;
    int pair_at[IOB_WINO_ALPHA_MAX] = {0}, any = 0;
    for (int c = 0; c + 1 < n; c++) /* column pairs, taken left to right without overlap */
        if (iob_wino_col_pair(M, rows, n, c) && !(c > 0 && pair_at[c - 1])) {
            pair_at[c] = 1;
            any = 1;
        }
    if (any) {
        float ve[IOB_WINO_ALPHA_MAX], vo[IOB_WINO_ALPHA_MAX];
        float cz[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
        for (int i = 0; i < rows * n; i++)
            cz[i] = M[i];
        for (int c = 0; c < n; c++) {
            ve[c] = vo[c] = x[c];
            if (!pair_at[c])
                continue;
            int need_s = 0, need_d = 0;
            for (int r = 0; r < rows; r++) {
                if (M[r * n + c] != 0.0f)
                    *((r & 1) ? &need_d : &need_s) = 1;
                cz[r * n + c + 1] = 0.0f;
            }
            if (need_s) {
                ve[c] = x[c] + x[c + 1];
                ops->fadd++;
            }
            if (need_d) {
                vo[c] = x[c] - x[c + 1];
                ops->fadd++;
            }
        }
        for (int r = 0; r < rows; r++)
            y[r * ys] = rule_dot(cz + r * n, (r & 1) ? vo : ve, n, 2, ops);
        return;
    }
    for (int r = 0; r < rows; r++) {
        if (r + 1 < rows && iob_wino_row_pair(M, n, r)) {
            float e = rule_dot(M + r * n, x, n, 0, ops), o = rule_dot(M + r * n, x, n, 1, ops);
            y[r * ys] = e + o;
            y[(r + 1) * ys] = e - o;
            ops->fadd += 2;
            r++;
        } else {
            y[r * ys] = rule_dot(M + r * n, x, n, 2, ops);
        }
    }
}

iob_wino_ops iob_wino_apply_ops(const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int n)
{
    float M[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX], x[IOB_WINO_ALPHA_MAX] = {0};
    float y[IOB_WINO_ALPHA_MAX];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < n; c++)
            M[r * n + c] = (float)mat[r][c];
    iob_wino_ops ops = {0, 0};
    iob_wino_apply_f32(M, rows, n, x, y, 1, &ops);
    return ops;
}

int iob_wino_reg_cap(const iob_machine *m, int threads, int blocks)
{
    int64_t warps = (int64_t)blocks * ((threads + 31) / 32);
    int64_t per_part = (warps + 3) / 4;                /* warps on the busiest sub-partition */
    int64_t cap = m->regs_per_sm / 4 / (per_part * 32); /* a quarter of the file each */
    cap &= ~7LL;
    return (int)(cap < m->regs_per_thread_max ? cap : m->regs_per_thread_max);
}

iob_status iob_wino_geom_make(const iob_layer *L, const iob_config *c, iob_wino_geom *g,
                              iob_error *err)
{
    memset(g, 0, sizeof *g);
    if (c->algo != IOB_ALGO_WINOGRAD)
        return iob_error_set(err, IOB_EINVAL, "not a winograd config (algo=%s)",
                             iob_algo_name(c->algo));
    if (L->r != 3 || L->s != 3)
        return iob_error_set(err, IOB_EINFEASIBLE, "the fused Winograd kernel needs a 3x3 filter "
                             "(layer: %lldx%lld)", (long long)L->r, (long long)L->s);
    if (L->stride_h != 1 || L->stride_w != 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "Winograd needs stride 1 (layer: %lldx%lld)",
                             (long long)L->stride_h, (long long)L->stride_w);
    if (L->dil_h != 1 || L->dil_w != 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "Winograd needs dilation 1 (layer: %lldx%lld)",
                             (long long)L->dil_h, (long long)L->dil_w);
    const struct { const char *key; int v; } need[] = {
        {"wino_m", c->wino_m}, {"tile_k", c->tile_k}, {"tile_p", c->tile_p},
        {"tile_q", c->tile_q}, {"tile_c", c->tile_c}, {"micro_k", c->micro_k},
        {"micro_p", c->micro_p}, {"micro_q", c->micro_q}, {"stages", c->stages},
        {"split_c", c->split_c},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i].v <= 0)
            return iob_error_set(err, IOB_EINVAL, "winograd config needs %s > 0", need[i].key);
    if (c->wino_m != 2 && c->wino_m != 4)
        return iob_error_set(err, IOB_EINFEASIBLE, "wino_m=%d: the fused kernel implements "
                             "F(2x2,3x3) and F(4x4,3x3)", c->wino_m);
    if (c->layout != 0)
        return iob_error_set(err, IOB_EINFEASIBLE, "layout=%d: only NCHW (0)", c->layout);
    int m = c->wino_m;
    g->m = m;
    g->alpha = m + 2;
    g->a2 = g->alpha * g->alpha;
    if (c->tile_p % m || c->tile_q % m)
        return iob_error_set(err, IOB_EINFEASIBLE, "tile_p=%d, tile_q=%d: not multiples of m=%d",
                             c->tile_p, c->tile_q, m);
    if (c->tile_p > 256 || c->tile_q > 256 || c->tile_c > 256 || c->tile_k > 1024)
        return iob_error_set(err, IOB_EINFEASIBLE, "tile too large (tile_p, tile_q, tile_c <= "
                             "256, tile_k <= 1024)");
    g->tp = c->tile_p / m;
    g->tq = c->tile_q / m;
    g->tt = g->tp * g->tq;
    g->ph = c->tile_p + 2;
    g->pw = c->tile_q + 2;
    if (c->tile_k % 4)
        return iob_error_set(err, IOB_EINFEASIBLE, "tile_k=%d: not a multiple of 4 (16-byte "
                             "copies of U)", c->tile_k);
    if (c->tile_k % c->micro_k)
        return iob_error_set(err, IOB_EINFEASIBLE, "tile_k=%d is not a multiple of micro_k=%d",
                             c->tile_k, c->micro_k);
    if (g->tt % c->micro_q)
        return iob_error_set(err, IOB_EINFEASIBLE, "micro_q=%d (tiles per thread) does not "
                             "divide the %d Winograd tiles of a block", c->micro_q, g->tt);
    if (g->a2 % c->micro_p)
        return iob_error_set(err, IOB_EINFEASIBLE, "micro_p=%d (frequencies per thread) does not "
                             "divide alpha^2=%d", c->micro_p, g->a2);
    if (!is_vec_width(c->micro_k) || !is_vec_width(c->micro_q))
        return iob_error_set(err, IOB_EINFEASIBLE, "micro_k=%d, micro_q=%d: each must be 1, 2 or "
                             "a multiple of 4 (vector loads)", c->micro_k, c->micro_q);
    if (c->stages < 2 || c->stages > 8)
        return iob_error_set(err, IOB_EINFEASIBLE, "stages=%d: the pipeline takes 2 to 8 buffers",
                             c->stages);
    g->vk = c->micro_k >= 4 ? 4 : c->micro_k;
    g->vq = c->micro_q >= 4 ? 4 : c->micro_q;
    g->ntk = c->tile_k / c->micro_k;
    g->ntt = g->tt / c->micro_q;
    g->nfg = g->a2 / c->micro_p;
    int64_t threads = (int64_t)g->nfg * g->ntk * g->ntt;
    if (threads > 1024)
        return iob_error_set(err, IOB_EINFEASIBLE, "%lld threads per block (more than 1024)",
                             (long long)threads);
    g->threads = (int)threads;
    g->cg = L->c / L->groups;
    g->kg = L->k / L->groups;
    g->nbp = iob_ceil_div(L->p, c->tile_p);
    g->nbq = iob_ceil_div(L->q, c->tile_q);
    g->kb = iob_ceil_div(g->kg, c->tile_k);
    g->nch = iob_ceil_div(g->cg, c->tile_c);
    g->jps = iob_ceil_div(g->nch, c->split_c);
    if ((c->split_c - 1) * g->jps >= g->nch)
        return iob_error_set(err, IOB_EINFEASIBLE, "split_c=%d leaves a part without channels "
                             "(%lld chunks of tile_c=%d, %lld per part)", c->split_c,
                             (long long)g->nch, c->tile_c, (long long)g->jps);
    int64_t gx = g->nbp * g->nbq, gy = L->groups * g->kb, gz = L->n * c->split_c;
    if (gx > 2147483647LL || gy > 65535 || gz > 65535)
        return iob_error_set(err, IOB_EINFEASIBLE, "grid %lld x %lld x %lld exceeds the CUDA "
                             "limits (2^31-1, 65535, 65535)", (long long)gx, (long long)gy,
                             (long long)gz);
    g->grid[0] = (uint32_t)gx;
    g->grid[1] = (uint32_t)gy;
    g->grid[2] = (uint32_t)gz;
    g->blocks = gx * gy * gz;
    /* shared memory */
    g->uf = (int64_t)g->a2 * c->tile_c * c->tile_k;
    g->xf = ((int64_t)c->tile_c * g->ph * g->pw + 3) / 4 * 4;
    g->vf = (int64_t)g->a2 * c->tile_c * g->tt;
    g->off_x = c->stages * g->uf;
    g->off_v = g->off_x + c->stages * g->xf;
    g->pipe = g->off_v + g->vf;
    /* M rows of ks floats: with fewer than 8 threads along k, an odd number of 16-byte units per
     * row spreads a quarter-warp's 128-bit stores over distinct bank groups */
    g->ks = c->tile_k + (g->ntk < 8 && (c->tile_k / 4) % 2 == 0 ? 4 : 0);
    if (g->threads >= c->tile_k * g->tq) {
        g->kr = c->tile_k;
        g->br = g->threads / (c->tile_k * g->tq);
        if (g->br > g->tp)
            g->br = g->tp;
    } else {
        g->br = 1;
        g->kr = g->threads / g->tq > 0 ? g->threads / g->tq : 1;
    }
    g->ys = g->br * m * c->tile_q + 1; /* odd: the staging stores of a warp hit distinct banks */
    g->mf = (int64_t)g->a2 * g->tt * g->ks;
    g->epi = g->mf + (int64_t)g->kr * g->ys;
    g->smem_floats = g->pipe > g->epi ? g->pipe : g->epi;
    g->smem_bytes = 4 * g->smem_floats;
    /* workspaces */
    g->u_elems = L->groups * g->kb * g->nch * g->uf;
    g->e_out = L->n * L->k * L->p * L->q;
    g->e_pad = (g->e_out + 7) / 8 * 8;
    g->part_elems = c->split_c > 1 ? c->split_c * g->e_pad : 0;
    g->sum_blocks = c->split_c > 1 ? iob_ceil_div(g->e_out, IOB_WINO_AUX_THREADS) : 0;
    /* registers (docs/model.md, calibrated with ptxas -v on sm_90): accumulators, plus the larger
     * of the EWMM operands of one channel step and the input transform's 6x6 (4x4) intermediate
     * with one column, plus 25 for addresses and indices */
    int acc = c->micro_p * c->micro_k * c->micro_q;
    int ops = c->micro_p * (c->micro_k + c->micro_q);
    int tr = g->a2 + g->alpha + 8;
    g->regs = (acc + (ops > tr ? ops : tr) + 25 + 7) / 8 * 8;
    return IOB_OK;
}

static iob_status wino_check(const iob_layer *L, const iob_config *c, const iob_machine *m,
                             iob_resources *res, iob_error *err)
{
    iob_wino_geom g;
    iob_status st = iob_wino_geom_make(L, c, &g, err);
    if (st)
        return st;
    if (g.threads > m->threads_per_block_max)
        return iob_error_set(err, IOB_EINFEASIBLE, "%d threads per block > %d", g.threads,
                             m->threads_per_block_max);
    if (g.smem_bytes > m->smem_per_block)
        return iob_error_set(err, IOB_EINFEASIBLE, "shared memory %.1f KiB > %.1f KiB per block",
                             g.smem_bytes / 1024.0, m->smem_per_block / 1024.0);
    int cap = iob_wino_reg_cap(m, g.threads, 1);
    if (g.regs > cap)
        return iob_error_set(err, IOB_EINFEASIBLE, "registers: about %d per thread needed, at "
                             "most %d with %d threads (it would spill)", g.regs, cap, g.threads);
    int b = 0;
    while (b < m->blocks_per_sm_max && (int64_t)(b + 1) * g.threads <= m->threads_per_sm_max &&
           (int64_t)(b + 1) * (g.smem_bytes + WINO_SMEM_RESERVED) <= m->smem_per_sm &&
           g.regs <= iob_wino_reg_cap(m, g.threads, b + 1))
        b++;
    if (b == 0)
        return iob_error_set(err, IOB_EINFEASIBLE, "one block does not fit an SM (%.1f KiB of "
                             "shared memory + %d reserved)", g.smem_bytes / 1024.0,
                             WINO_SMEM_RESERVED);
    res->threads = g.threads;
    res->smem_bytes = g.smem_bytes;
    res->regs_per_thread = g.regs;
    res->blocks_per_sm = b;
    res->grid_blocks = g.blocks;
    res->waves = iob_ceil_div(g.blocks, (int64_t)b * m->sm_count);
    res->occupancy = (double)b * ((g.threads + 31) / 32) / (m->threads_per_sm_max / 32.0);
    res->workspace_bytes = 4 * (g.u_elems + g.part_elems);
    res->kernels = c->split_c > 1 ? 2 : 1;
    return IOB_OK;
}

/* ---- sector counting of boxes (closed form) -------------------------------------------------- */

/* #{i in [0, n) : i = r (mod 8)}, n >= 0 */
static int64_t count_res(int64_t n, int r) { return n > r ? ((n - r + 7) >> 3) : 0; }

/* adds to out[r * w8 mod 8] the number of i in [lo, lo + len) with i = r (mod 8); lo >= 0 */
static void add_res(uint64_t out[8], int64_t lo, int64_t len, int64_t w8)
{
    if (len <= 0)
        return;
    uint64_t q = (uint64_t)(len >> 3);
    int rem = (int)(len & 7), base = (int)(lo & 7);
    for (int r = 0; r < 8; r++)
        out[r * w8 % 8] += q + (((r - base) & 7) < rem);
}

/* A family of boxes over a tensor of planes (docs/model.md, "Winograd", counting): plane
 * l = (o * groups + grp) * per_group + ci, o < outer; planes are taken in chunks of `tile`
 * consecutive ci of one (o, grp); row block i covers rows [i*r_step + r_off, + r_len) clipped to
 * [0, hp), column block j likewise within [0, wp). Every (row block, column block, chunk) is one
 * box whose distinct sectors are counted; the result is the sum over all boxes. */
typedef struct wino_box {
    int64_t outer, groups, per_group, tile;
    int64_t hp, wp;
    int64_t nrb, r_step, r_off, r_len;
    int64_t ncb, c_step, c_off, c_len;
} wino_box;

static void clip(int64_t i, int64_t step, int64_t off, int64_t len, int64_t ext, int64_t *lo,
                 int64_t *hi)
{
    *lo = iob_max64(0, i * step + off);
    *hi = iob_min64(ext, i * step + off + len);
}

/* Real elements of all boxes (bytes requested = 4 x this). */
static uint64_t box_elems(const wino_box *b)
{
    int64_t rows = 0, cols = 0, lo, hi;
    for (int64_t i = 0; i < b->nrb; i++) {
        clip(i, b->r_step, b->r_off, b->r_len, b->hp, &lo, &hi);
        rows += hi > lo ? hi - lo : 0;
    }
    for (int64_t j = 0; j < b->ncb; j++) {
        clip(j, b->c_step, b->c_off, b->c_len, b->wp, &lo, &hi);
        cols += hi > lo ? hi - lo : 0;
    }
    return (uint64_t)(b->outer * b->groups * b->per_group) * (uint64_t)rows * (uint64_t)cols;
}

/* cnt[x]: planes l whose successor l+1 is in the same chunk (the box's next plane), by the
 * residue x of l's first element mod 8 */
static void next_planes(const wino_box *b, int64_t plane8, uint64_t cnt[8])
{
    uint64_t cnt_o[8] = {0}, cnt_ci[8] = {0};
    for (int r = 0; r < 8; r++) {
        cnt_o[r * (b->per_group % 8) % 8] += (uint64_t)count_res(b->outer * b->groups, r);
        cnt_ci[r] = (uint64_t)count_res(b->per_group, r);
    }
    for (int64_t e = b->tile - 1;; e += b->tile) { /* the last plane of each chunk */
        int64_t last = iob_min64(e, b->per_group - 1);
        cnt_ci[last % 8]--;
        if (last == b->per_group - 1)
            break;
    }
    for (int y = 0; y < 8; y++)
        for (int z = 0; z < 8; z++)
            cnt[(y + z) % 8 * plane8 % 8] += cnt_o[y] * cnt_ci[z];
}

/* The blocks of one axis that differ for counting: a block's clipped range [lo, hi) matters only
 * through lo mod 8 and hi - lo, so the interior blocks (not clipped) are merged by lo mod 8 into
 * at most 8 weighted representatives; the clipped ones at both ends stay single. */
typedef struct axis_rep {
    int64_t lo, hi, weight;
} axis_rep;

#define AXIS_REPS_MAX 24

static int axis_reps(int64_t nb, int64_t step, int64_t off, int64_t len, int64_t ext,
                     axis_rep *out)
{
    /* interior: off + j*step >= 0 and off + j*step + len <= ext */
    int64_t j0 = off >= 0 ? 0 : iob_ceil_div(-off, step);
    int64_t j1 = ext - len - off >= 0 ? iob_floor_div(ext - len - off, step) + 1 : 0;
    j0 = iob_min64(j0, nb);
    j1 = iob_max64(j0, iob_min64(j1, nb));
    if (j0 + (nb - j1) > AXIS_REPS_MAX - 8) { /* many clipped blocks: tiny planes; all singly */
        j0 = nb;
        j1 = nb;
    }
    int n = 0;
    for (int64_t j = 0; j < nb && n < AXIS_REPS_MAX; j++) {
        if (j == j0 && j1 > j0) { /* interior blocks by j mod 8 (lo mod 8 follows from it) */
            for (int64_t t = j0; t < j0 + 8 && t < j1; t++) {
                int64_t lo = off + t * step;
                out[n++] = (axis_rep){lo, lo + len, (j1 - t + 7) / 8};
            }
            j = j1 - 1;
            continue;
        }
        int64_t lo, hi;
        clip(j, step, off, len, ext, &lo, &hi);
        if (hi > lo)
            out[n++] = (axis_rep){lo, hi, 1};
    }
    return n;
}

static uint64_t box_sectors(const wino_box *b)
{
    const int64_t w8 = b->wp % 8, plane8 = (b->hp % 8) * w8 % 8;
    /* planes by the residue of their first element */
    uint64_t cnt_l[8] = {0}, cnt_next[8] = {0};
    int have_next = 0;
    int64_t nplanes = b->outer * b->groups * b->per_group;
    for (int r = 0; r < 8; r++)
        cnt_l[r * plane8 % 8] += (uint64_t)count_res(nplanes, r);
    /* columns: sectors of a segment by its row's start residue z; the boundary sector shared
     * with the same plane's next row */
    axis_rep cr[AXIS_REPS_MAX], rr[AXIS_REPS_MAX];
    int ncr = axis_reps(b->ncb, b->c_step, b->c_off, b->c_len, b->wp, cr);
    int nrr = axis_reps(b->nrb, b->r_step, b->r_off, b->r_len, b->hp, rr);
    uint64_t len_q[8] = {0}, sh_a[8] = {0};
    int64_t maxw = 0;
    for (int j = 0; j < ncr; j++) {
        int64_t lo = cr[j].lo, hi = cr[j].hi;
        uint64_t wt = (uint64_t)cr[j].weight;
        maxw = iob_max64(maxw, hi - lo);
        for (int z = 0; z < 8; z++) {
            len_q[z] += wt * (uint64_t)(((z + hi - 1) >> 3) - ((z + lo) >> 3) + 1);
            sh_a[z] += wt * (((z + hi - 1) >> 3) == ((z + b->wp + lo) >> 3));
        }
    }
    if (maxw == 0)
        return 0;
    uint64_t rows[8] = {0}, pairs[8] = {0}, shared_b = 0;
    for (int i = 0; i < nrr; i++) {
        int64_t lo = rr[i].lo, hi = rr[i].hi;
        uint64_t wt = (uint64_t)rr[i].weight, one[8] = {0}, two[8] = {0};
        add_res(one, lo, hi - lo, w8);
        add_res(two, lo, hi - 1 - lo, w8);
        for (int r = 0; r < 8; r++) {
            rows[r] += wt * one[r];
            pairs[r] += wt * two[r];
        }
        /* last row of a plane -> first row of the next plane of the chunk */
        int64_t dist = (b->hp - (hi - 1) + lo) * b->wp; /* between the two rows' starts */
        if (dist - maxw + 1 >= 8)
            continue; /* more than a sector apart for every column block */
        if (!have_next) { /* planes whose successor is in the same chunk, by residue */
            next_planes(b, plane8, cnt_next);
            have_next = 1;
        }
        int y = (int)((hi - 1) % 8 * w8 % 8);
        for (int x = 0; x < 8; x++) {
            if (!cnt_next[x])
                continue;
            int64_t z = (x + y) % 8;
            uint64_t n = 0;
            for (int j = 0; j < ncr; j++)
                n += (uint64_t)cr[j].weight *
                     (((z + cr[j].hi - 1) >> 3) == ((z + dist + cr[j].lo) >> 3));
            shared_b += wt * cnt_next[x] * n;
        }
    }
    uint64_t total = 0, shared = shared_b;
    for (int x = 0; x < 8; x++)
        for (int y = 0; y < 8; y++) {
            total += cnt_l[x] * rows[y] * len_q[(x + y) % 8];
            shared += cnt_l[x] * pairs[y] * sh_a[(x + y) % 8];
        }
    return total - shared;
}

static void input_box(const iob_layer *L, const iob_config *c, const iob_wino_geom *g,
                      wino_box *b)
{
    *b = (wino_box){L->n, L->groups, g->cg, c->tile_c, L->h, L->w,
                    g->nbp, c->tile_p, -L->pad_top, g->ph,
                    g->nbq, c->tile_q, -L->pad_left, g->pw};
}

static void output_box(const iob_layer *L, const iob_config *c, const iob_wino_geom *g,
                       wino_box *b)
{
    *b = (wino_box){L->n, L->groups, g->kg, c->tile_k, L->p, L->q,
                    g->nbp, c->tile_p, 0, c->tile_p,
                    g->nbq, c->tile_q, 0, c->tile_q};
}

/* ---- prediction ---------------------------------------------------------------------------- */

/* FP32 operations of one application of B^T (*f_bt) and of A^T (*f_at) of F(m, 3) under the
 * kernel's rule; cached per thread (the matrices come from pow() loops that would dominate a
 * prediction). */
static iob_status transform_flops_rows(int m, int *f_bt, int *f_at, iob_error *err)
{
    static _Thread_local int cached[2][3]; /* [m == 4][valid, f_bt, f_at] */
    int *e = cached[m == 4];
    if (!e[0]) {
        iob_winograd w;
        iob_status st = iob_winograd_make(m, 3, &w, err);
        if (st)
            return st;
        iob_wino_ops b = iob_wino_apply_ops(w.BT, w.alpha, w.alpha);
        iob_wino_ops a = iob_wino_apply_ops(w.AT, m, w.alpha);
        e[1] = b.fmul + b.fadd;
        e[2] = a.fmul + a.fadd;
        e[0] = 1;
    }
    *f_bt = e[1];
    *f_at = e[2];
    return IOB_OK;
}

static iob_status wino_predict(const iob_layer *L, const iob_config *c, const iob_machine *mach,
                               const iob_resources *res, iob_traffic *t, iob_error *err)
{
    iob_wino_geom g;
    iob_status st = iob_wino_geom_make(L, c, &g, err);
    if (st)
        return st;
    int f_bt, f_at;
    if ((st = transform_flops_rows(g.m, &f_bt, &f_at, err)))
        return st;
    const uint64_t a2 = (uint64_t)g.a2, tk = (uint64_t)c->tile_k, tc = (uint64_t)c->tile_c;
    const uint64_t tt = (uint64_t)g.tt, m2 = (uint64_t)g.m * g.m, split = (uint64_t)c->split_c;
    /* blocks and block-stages; every block of a split runs its chunks, all splits cover nch */
    const uint64_t blocks = (uint64_t)g.blocks; /* spatial blocks x split_c */
    const uint64_t spatial_blocks = blocks / split;
    const uint64_t bstages = spatial_blocks * (uint64_t)g.nch;
    const uint64_t outputs = (uint64_t)g.e_out;

    /* SM <-> L2 */
    wino_box in, out;
    input_box(L, c, &g, &in);
    output_box(L, c, &g, &out);
    uint64_t u_sectors = bstages * (uint64_t)g.uf / 8;
    uint64_t x_sectors = (uint64_t)g.kb * box_sectors(&in);
    uint64_t y_sectors = box_sectors(&out) * split;
    uint64_t sum_sectors = split > 1 ? (uint64_t)iob_ceil_div(g.e_out, 8) : 0;
    t->l2_read_sectors = u_sectors + x_sectors + split * sum_sectors;
    t->l2_write_sectors = y_sectors + sum_sectors;
    t->l2_read_bytes = 32 * t->l2_read_sectors;
    t->l2_write_bytes = 32 * t->l2_write_sectors;
    t->l2_read_requested_bytes = 4 * (bstages * (uint64_t)g.uf + (uint64_t)g.kb * box_elems(&in) +
                                      (split > 1 ? split * outputs : 0));

    /* shared memory <-> registers, per block-stage and per block */
    uint64_t patch = tc * (uint64_t)g.ph * g.pw, pairs = tc * tt;
    uint64_t st_w = (uint64_t)g.uf + patch + pairs * a2;                  /* cp.async, V */
    uint64_t st_r = pairs * a2 + a2 * tc * (tk * g.ntt + tt * g.ntk);     /* patch, EWMM */
    uint64_t ep_w = a2 * tk * tt + tk * tt * m2;                          /* M, Y staging */
    uint64_t ep_r = tk * tt * a2;                                         /* M */
    t->smem_write_bytes = 4 * (bstages * st_w + blocks * ep_w);
    t->smem_read_bytes = 4 * (bstages * st_r + blocks * ep_r + split * outputs);

    /* FFMA and FLOPs */
    t->ffma = bstages * a2 * tk * tt * tc;
    double f_in = 2.0 * g.alpha * f_bt, f_out = (double)(g.alpha + g.m) * f_at;
    t->flops = 2.0 * (double)t->ffma + (double)bstages * (double)pairs * f_in +
               (double)blocks * (double)(tk * tt) * f_out +
               (split > 1 ? (double)(split - 1) * (double)outputs : 0);

    /* L2 <-> DRAM (docs/model.md): compulsory when every tensor fits the L2 capacity of data
     * every partition's SMs read (iob_machine_l2_shared_bytes), else each tensor once if its
     * reuse window fits that capacity, else once per reuse */
    double in_b = 4.0 * (double)(L->n * L->c) * (double)(L->h * L->w), u_b = 4.0 * g.u_elems;
    double out_b = 4.0 * (double)outputs, part_b = 4.0 * (double)g.part_elems;
    double l2 = (double)iob_machine_l2_shared_bytes(mach);
    if (in_b + u_b + out_b + part_b <= l2) {
        /* the split partial planes go to DRAM and are read back even when everything fits (H100,
         * call 7: res3/res4/vgg16.conv4_2/conv5_2 at batch 1 read compulsory + partials to
         * 0.5%, docs/counters.md), as the direct kernel's do: an estimate then */
        t->dram_exact = split == 1;
        t->dram_read_bytes = 32.0 * (double)iob_ceil_div(L->n * L->c * L->h * L->w, 8) + u_b +
                             (split > 1 ? part_b : 0);
        t->dram_write_bytes = out_b + (split > 1 ? part_b : 0);
    } else {
        double per_img_in = in_b / (double)L->n, per_img_out = out_b / (double)L->n;
        double win_in = per_img_in / (double)L->groups + u_b / (double)(L->groups * g.kb) +
                        per_img_out / (double)(L->groups * g.kb);
        double win_u = u_b + per_img_in + per_img_out;
        /* reuse windows against the whole L2, as in model/direct.c (the blocks of a wave share
         * them at about the same time) */
        double l2_all = (double)mach->l2_bytes;
        /* the partial planes go to DRAM and back here too (vgg16.conv4_2 at batch 1, split 4,
         * 47 MB: measured 1.001 x compulsory + partials, docs/results/validate-h100.csv) */
        t->dram_exact = 0;
        t->dram_read_bytes = in_b * (win_in <= l2_all ? 1.0 : (double)g.kb) +
                             u_b * (win_u <= l2_all ? 1.0 : (double)L->n) + part_b;
        t->dram_write_bytes = out_b + part_b;
    }

    /* time (docs/model.md): issue, shared memory, L2, DRAM; per wave, plus launches */
    double clk = iob_machine_fp32_rate(mach) / (256.0 * mach->sm_count);
    int warps = (g.threads + 31) / 32;
    double per_pair_in = 2.0 * a2 + f_in + 12, per_pair_out = a2 + m2 + f_out + 12;
    double stage_issue = (double)warps * tc * c->micro_p *
                             (c->micro_k * c->micro_q + c->micro_k / g.vk + c->micro_q / g.vq) +
                         ceil(pairs / 32.0) * per_pair_in + ceil(g.uf / 4.0 / 32.0) * 2 +
                         ceil(patch / 32.0) * 4;
    double epi_issue = a2 * tk * tt / 32.0 / g.vk + ceil(tk * tt / 32.0) * per_pair_out +
                       ceil(tk * tt * m2 / 32.0) * 8;
    double nst = (double)g.jps;
    double issue = (nst * stage_issue + epi_issue) / 4.0; /* four schedulers */
    /* what one block cannot overlap by itself: the transform's own instruction chain when few
     * warps carry it, and two barriers per stage */
    double lat = nst * (ceil((double)pairs / g.threads) * per_pair_in + 2 * 40) +
                 ceil((double)(tk * tt) / g.threads) * per_pair_out + 2000;
    double bps = res->blocks_per_sm, waves = (double)res->waves;
    double cyc_wave = fmax(bps * issue, issue + lat);
    t->time_flop_s = waves * cyc_wave / clk;
    /* shared-memory wavefronts: the EWMM's loads are broadcasts (a warp reads ntk*vk floats of U
     * and ntt*vq of V per load); everything else at its thread bytes, the patch reads 4-way
     * conflicted (docs/model.md) */
    int lanes_k = g.ntk < 32 ? g.ntk : 32, lanes_t = (32 / g.ntk) < g.ntt ? 32 / g.ntk : g.ntt;
    if (lanes_t < 1)
        lanes_t = 1;
    double fg_per_warp = fmax(1.0, 32.0 / ((double)g.ntk * g.ntt));
    double wf_ewmm = (double)warps * tc * c->micro_p * fg_per_warp *
                     ((double)c->micro_k / g.vk * ceil(lanes_k * g.vk * 4 / 128.0) +
                      (double)c->micro_q / g.vq * ceil(lanes_t * g.vq * 4 / 128.0));
    double wf_rest = ((double)patch + 4.0 * pairs * a2 + pairs * a2 + (double)g.uf) / 32.0;
    double wf_epi = ((double)ep_w + ep_r) / 32.0 + (double)(tk * tt * m2) / 32.0;
    double wf_block = nst * (wf_ewmm + wf_rest) + wf_epi;
    t->time_smem_s = waves * bps * wf_block / (mach->smem_bw_per_sm / 128.0);
    double l2_bw = mach->l2_bw_peak > 0 ? mach->l2_bw_peak : 2.0 * iob_machine_dram_bw(mach);
    t->time_l2_s = (double)(t->l2_read_bytes + t->l2_write_bytes) / l2_bw;
    t->time_dram_s = (t->dram_read_bytes + t->dram_write_bytes) / iob_machine_dram_bw(mach);
    t->time_s = t->time_flop_s;
    t->time_limiter = "fp32";
    if (t->time_smem_s > t->time_s) {
        t->time_s = t->time_smem_s;
        t->time_limiter = "smem";
    }
    if (t->time_l2_s > t->time_s) {
        t->time_s = t->time_l2_s;
        t->time_limiter = "l2";
    }
    if (t->time_dram_s > t->time_s) {
        t->time_s = t->time_dram_s;
        t->time_limiter = "dram";
    }
    if (lat > bps * issue && t->time_limiter[0] == 'f')
        t->time_limiter = "latency";
    t->time_s += res->kernels * WINO_LAUNCH_S;
    return IOB_OK;
}

/* ---- candidates ------------------------------------------------------------------------------ */

/* The space (docs/model.md): F(2x2) and F(4x4); 1 to 8 Winograd tiles a side with at most a
 * factor 2 between rows and columns, 4 to 64 tiles in all (1 to 3 only where the output is that
 * small); tile_k 16..128 and tile_c 4..16 (down to 1 where the layer has fewer channels); 4 or 8
 * channels and tiles per thread (2 channels with tile_k 16; fewer tiles where a block has fewer
 * than 4); frequencies per thread so that 32 to 128 accumulators remain (16 for blocks of fewer
 * than 16 tiles); 64 to 1024 threads, the last warp at least 3/4 full; 2 stages; channel splits
 * 2..8 only for grids of less than one block per SM, up to two blocks per SM. Tiles longer than
 * the layer by a whole tile, and channel tiles twice the layer's, are left out. Configs with 3 or
 * more stages are valid (checked, traced, compiled, tested) but not offered: the time model has
 * no term that tells them from 2 stages, and the tuner's few measurements (8 per layer) went to
 * stage-only twins of the same tiles. */
static iob_status push_config(iob_config **v, size_t *n, size_t *cap, const iob_config *c,
                              iob_error *err)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 1024;
        iob_config *nv = realloc(*v, ncap * sizeof *nv);
        if (!nv)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for winograd candidates");
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = *c;
    return IOB_OK;
}

static iob_status wino_candidates(const iob_layer *L, const iob_machine *mach, iob_config **out,
                                  size_t *count, iob_error *err)
{
    *out = NULL;
    *count = 0;
    /* a layer the kernel cannot take: no candidates, and err says why (the smallest config
     * fails on the layer alone) */
    iob_wino_geom probe_g;
    const iob_config probe = {.algo = IOB_ALGO_WINOGRAD, .wino_m = 2, .tile_k = 4, .tile_p = 2,
                              .tile_q = 2, .tile_c = 1, .micro_k = 1, .micro_p = 1,
                              .micro_q = 1, .stages = 2, .split_c = 1};
    if (iob_wino_geom_make(L, &probe, &probe_g, err) != IOB_OK)
        return IOB_OK;
    size_t cap = 0, n = 0;
    iob_config *v = NULL;
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    static const int tks[] = {16, 32, 64, 128}, tcs[] = {1, 2, 4, 8, 16};
    static const int mks[] = {2, 4, 8}, mqs[] = {1, 2, 4, 8};
    for (int m = 2; m <= 4; m += 2) {
        int a2 = (m + 2) * (m + 2);
        int64_t tiles_p = iob_ceil_div(L->p, m), tiles_q = iob_ceil_div(L->q, m);
        for (int tp = 1; tp <= 8; tp++)
            for (int tq = 1; tq <= 8; tq++) {
                int tt = tp * tq;
                if (tp > 2 * tq || tq > 2 * tp || tt > 64 || (tt < 4 && tt < tiles_p * tiles_q))
                    continue;
                if (tp - 1 >= tiles_p)
                    continue; /* a whole tile row past the output */
                if (tq - 1 >= tiles_q)
                    continue;
                for (size_t ki = 0; ki < sizeof tks / sizeof *tks; ki++) {
                    int tk = tks[ki];
                    if (tk > 16 && tk / 2 >= kg)
                        continue;
                    for (size_t ci = 0; ci < sizeof tcs / sizeof *tcs; ci++) {
                        int tc = tcs[ci];
                        if ((tc < 4 && cg >= 4) || (tc > 1 && tc / 2 >= cg))
                            continue;
                        int64_t nch = iob_ceil_div(cg, tc);
                        int64_t grid = iob_ceil_div(L->p, tp * m) * iob_ceil_div(L->q, tq * m) *
                                       L->groups * iob_ceil_div(kg, tk) * L->n;
                        for (size_t a = 0; a < sizeof mks / sizeof *mks; a++)
                            for (size_t b = 0; b < sizeof mqs / sizeof *mqs; b++) {
                                int mk = mks[a], mq = mqs[b];
                                if (mk > tk || (mk == 2 && tk > 16) || tt % mq ||
                                    (mq < 4 && tt >= 4))
                                    continue;
                                for (int mp = 1; mp <= 12; mp++) {
                                    int acc = mp * mk * mq;
                                    int64_t thr = (int64_t)(a2 / mp) * (tk / mk) * (tt / mq);
                                    if (a2 % mp || acc < (tt < 16 ? 16 : 32) || acc > 128 ||
                                        thr < 64 || thr > 1024 || (thr % 32 && thr % 32 < 24))
                                        continue;
                                    for (int sp = 1; sp <= 8; sp *= 2) {
                                        if (sp > 1 && (grid >= mach->sm_count ||
                                                       grid * sp > 2 * mach->sm_count || sp > nch))
                                            break;
                                        iob_config c = {
                                            .algo = IOB_ALGO_WINOGRAD, .wino_m = m, .tile_k = tk,
                                            .tile_p = tp * m, .tile_q = tq * m, .tile_c = tc,
                                            .micro_k = mk, .micro_p = mp, .micro_q = mq,
                                            .stages = 2, .split_c = sp};
                                        iob_status st = push_config(&v, &n, &cap, &c, err);
                                        if (st) {
                                            free(v);
                                            return st;
                                        }
                                    }
                                }
                            }
                    }
                }
            }
    }
    *out = v;
    *count = n;
    return IOB_OK;
}

const iob_dataflow_ops iob_dataflow_winograd = {
    .algo = IOB_ALGO_WINOGRAD,
    .check = wino_check,
    .predict = wino_predict,
    .candidates = wino_candidates,
    .relaxed = NULL,
};
