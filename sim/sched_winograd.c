/* sched_winograd.c - Winograd F(m x m, r x r) as operation sequences, fused and stored
 * (model/winograd.c bounds both). With alpha = m + r - 1 and tiles (n, ti, tj) of m x m outputs:
 *     U[k][c][xi]      = sum_{a,b} G[xi1][a] G[xi2][b] g[k][c][a][b]          (filter transform)
 *     V[n][c][t][xi]   = sum_{a,b} B^T[xi1][a] B^T[xi2][b] d[n][c][ti*m - pad_top + a][...]
 *     M[n][k][t][xi]   = sum_{c in the group of k} U[k][c][xi] V[n][c][t][xi]  (EWMM)
 *     Y[n][k][ti*m+i][tj*m+j] = sum_{a,b} A^T[i][a] A^T[j][b] M[n][k][t][a][b]
 * Each transform term is one operation (out += coefficient * element) when its coefficient is
 * nonzero and, for d, the position is a real input. xi = (xi1, xi2) is valid for a tile when some
 * B^T row entry reaches a real input on each axis (model/winograd.c: axis_valid_freqs).
 * Tensors: V [n][c][t][xi], M [n][k][t][xi], U [k][c][xi], t = ti * tiles_w + tj.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/winograd.h"
#include "sim/sched.h"

typedef struct wino {
    const iob_layer *L;
    iob_winograd w;
    int64_t m, alpha, a2, th, tw, T, cg, kg;
    uint8_t *vrow, *vcol; /* [ti][xi1], [tj][xi2]: frequency reaches a real input */
    iob_opseq *seq;
    int32_t d0, g0, u0, v0, m0, y0;
} wino;

static int nz(double x)
{
    return fabs(x) > 1e-14;
}

int iob_sched_winograd_applies(const iob_layer *L, int m)
{
    return (m == 2 || m == 4 || m == 6) && L->r == L->s && (L->r == 3 || L->r == 5) &&
           L->stride_h == 1 && L->stride_w == 1 && L->dil_h == 1 && L->dil_w == 1;
}

static void wino_free(wino *W)
{
    free(W->vrow);
    free(W->vcol);
}

static iob_status wino_init(wino *W, const iob_layer *L, int m, iob_opseq *seq, iob_error *err)
{
    memset(W, 0, sizeof *W);
    if (!iob_sched_winograd_applies(L, m))
        return iob_error_set(err, IOB_EINVAL, "Winograd F(%d, %lld) does not apply to this layer",
                             m, (long long)L->r);
    iob_status st = iob_winograd_make(m, (int)L->r, &W->w, err);
    if (st)
        return st;
    W->L = L;
    W->seq = seq;
    W->m = m;
    W->alpha = W->w.alpha;
    W->a2 = W->alpha * W->alpha;
    W->th = (L->p + m - 1) / m;
    W->tw = (L->q + m - 1) / m;
    W->T = W->th * W->tw;
    W->cg = L->c / L->groups;
    W->kg = L->k / L->groups;
    W->vrow = calloc((size_t)(W->th * W->alpha), 1);
    W->vcol = calloc((size_t)(W->tw * W->alpha), 1);
    if (!W->vrow || !W->vcol) {
        wino_free(W);
        return iob_error_set(err, IOB_ENOMEM, "out of memory for Winograd tiles");
    }
    for (int axis = 0; axis < 2; axis++) {
        int64_t tiles = axis ? W->tw : W->th, extent = axis ? L->w : L->h;
        int64_t pad = axis ? L->pad_left : L->pad_top;
        uint8_t *v = axis ? W->vcol : W->vrow;
        for (int64_t t = 0; t < tiles; t++)
            for (int64_t xi = 0; xi < W->alpha; xi++)
                for (int64_t a = 0; a < W->alpha; a++) {
                    int64_t x = t * m - pad + a;
                    if (nz(W->w.BT[xi][a]) && x >= 0 && x < extent)
                        v[t * W->alpha + xi] = 1;
                }
    }
    return IOB_OK;
}

static int valid_xi(const wino *W, int64_t t, int64_t xi)
{
    int64_t ti = t / W->tw, tj = t % W->tw;
    return W->vrow[ti * W->alpha + xi / W->alpha] && W->vcol[tj * W->alpha + xi % W->alpha];
}

static int32_t v_id(const wino *W, int64_t n, int64_t ch, int64_t t, int64_t xi)
{
    return W->v0 + (int32_t)(((n * W->L->c + ch) * W->T + t) * W->a2 + xi);
}

static int32_t m_id(const wino *W, int64_t n, int64_t k, int64_t t, int64_t xi)
{
    return W->m0 + (int32_t)(((n * W->L->k + k) * W->T + t) * W->a2 + xi);
}

static int32_t u_id(const wino *W, int64_t k, int64_t c, int64_t xi)
{
    return W->u0 + (int32_t)((k * W->cg + c) * W->a2 + xi);
}

/* V[n][ch][t][xi] from the real inputs of the tile's patch; only_valid: skip the frequencies
 * that reach no real input (fused), else write them as zeros (stored). */
static iob_status emit_v(wino *W, int64_t n, int64_t ch, int64_t t, int only_valid,
                         iob_error *err)
{
    const iob_layer *L = W->L;
    int64_t h0 = (t / W->tw) * W->m - L->pad_top, w0 = (t % W->tw) * W->m - L->pad_left;
    for (int64_t xi = 0; xi < W->a2; xi++) {
        if (only_valid && !valid_xi(W, t, xi))
            continue;
        int64_t x1 = xi / W->alpha, x2 = xi % W->alpha;
        int any = 0;
        for (int64_t a = 0; a < W->alpha; a++)
            for (int64_t b = 0; b < W->alpha; b++) {
                int64_t h = h0 + a, w = w0 + b;
                if (!nz(W->w.BT[x1][a]) || !nz(W->w.BT[x2][b]) || h < 0 || h >= L->h || w < 0 ||
                    w >= L->w)
                    continue;
                int32_t d = W->d0 + (int32_t)(((n * L->c + ch) * L->h + h) * L->w + w);
                iob_status st = iob_opseq_push(W->seq, v_id(W, n, ch, t, xi), d, -1, err);
                if (st)
                    return st;
                any = 1;
            }
        if (!any) {
            iob_status st = iob_opseq_push(W->seq, v_id(W, n, ch, t, xi), -1, -1, err);
            if (st)
                return st;
        }
    }
    return IOB_OK;
}

/* Y of tile t, output channel k, from its M (only_valid: the M that are not identically 0). */
static iob_status emit_y(wino *W, int64_t n, int64_t k, int64_t t, int only_valid,
                         iob_error *err)
{
    const iob_layer *L = W->L;
    int64_t p0 = (t / W->tw) * W->m, q0 = (t % W->tw) * W->m;
    for (int64_t i = 0; i < W->m && p0 + i < L->p; i++)
        for (int64_t j = 0; j < W->m && q0 + j < L->q; j++) {
            int32_t y = W->y0 + (int32_t)(((n * L->k + k) * L->p + p0 + i) * L->q + q0 + j);
            int any = 0;
            for (int64_t a = 0; a < W->alpha; a++)
                for (int64_t b = 0; b < W->alpha; b++) {
                    int64_t xi = a * W->alpha + b;
                    if (!nz(W->w.AT[i][a]) || !nz(W->w.AT[j][b]) ||
                        (only_valid && !valid_xi(W, t, xi)))
                        continue;
                    iob_status st = iob_opseq_push(W->seq, y, m_id(W, n, k, t, xi), -1, err);
                    if (st)
                        return st;
                    any = 1;
                }
            if (!any) {
                iob_status st = iob_opseq_push(W->seq, y, -1, -1, err);
                if (st)
                    return st;
            }
        }
    return IOB_OK;
}

static iob_status ewmm(wino *W, int64_t n, int64_t k, int64_t c, int64_t t, iob_error *err)
{
    int64_t ch = (k / W->kg) * W->cg + c;
    for (int64_t xi = 0; xi < W->a2; xi++) {
        if (!valid_xi(W, t, xi))
            continue;
        iob_status st = iob_opseq_push(W->seq, m_id(W, n, k, t, xi), u_id(W, k, c, xi),
                                       v_id(W, n, ch, t, xi), err);
        if (st)
            return st;
    }
    return IOB_OK;
}

static iob_status reserve(wino *W, int64_t n, int32_t *base, iob_error *err)
{
    return iob_opseq_elems(W->seq, n, base, err);
}

static void mark_final(wino *W, int32_t base, int64_t n)
{
    for (int64_t e = 0; e < n; e++)
        iob_opseq_mark_final(W->seq, base + (int32_t)e);
}

/* One tile block [t_lo, t_hi) of the flattened (n, t) tiles, fused. */
static iob_status fused_block(wino *W, const iob_sched_winograd *cfg, int64_t t_lo, int64_t t_hi,
                              iob_error *err)
{
    const iob_layer *L = W->L;
    iob_status st = IOB_OK;
#define NT(x) ((x) / W->T)
#define TT(x) ((x) % W->T)
    if (!cfg->k_outer) {
        for (int64_t ch = 0; ch < L->c && !st; ch++) {
            int64_t g = ch / W->cg, c = ch % W->cg;
            for (int64_t x = t_lo; x < t_hi && !st; x++)
                st = emit_v(W, NT(x), ch, TT(x), 1, err);
            for (int64_t k = g * W->kg; k < (g + 1) * W->kg && !st; k++)
                for (int64_t x = t_lo; x < t_hi && !st; x++)
                    st = ewmm(W, NT(x), k, c, TT(x), err);
        }
        for (int64_t k = 0; k < L->k && !st; k++)
            for (int64_t x = t_lo; x < t_hi && !st; x++)
                st = emit_y(W, NT(x), k, TT(x), 1, err);
        return st;
    }
    for (int64_t ch = 0; ch < L->c && !st; ch++)
        for (int64_t x = t_lo; x < t_hi && !st; x++)
            st = emit_v(W, NT(x), ch, TT(x), 1, err);
    int64_t kb = cfg->k_block > 0 ? cfg->k_block : L->k;
    for (int64_t k_lo = 0; k_lo < L->k && !st; k_lo += kb) {
        int64_t k_hi = k_lo + kb < L->k ? k_lo + kb : L->k;
        for (int64_t c = 0; c < W->cg && !st; c++)
            for (int64_t k = k_lo; k < k_hi && !st; k++)
                for (int64_t x = t_lo; x < t_hi && !st; x++)
                    st = ewmm(W, NT(x), k, c, TT(x), err);
        for (int64_t k = k_lo; k < k_hi && !st; k++)
            for (int64_t x = t_lo; x < t_hi && !st; x++)
                st = emit_y(W, NT(x), k, TT(x), 1, err);
    }
#undef NT
#undef TT
    return st;
}

iob_status iob_sched_winograd_fused(const iob_layer *L, const iob_sched_winograd *cfg,
                                    iob_opseq *seq, iob_error *err)
{
    wino W;
    iob_status st = wino_init(&W, L, cfg->m, seq, err);
    if (st)
        return st;
    int64_t ny = L->n * L->k * L->p * L->q;
    if ((st = reserve(&W, L->n * L->c * L->h * L->w, &W.d0, err)) ||
        (st = reserve(&W, L->k * W.cg * W.a2, &W.u0, err)) ||
        (st = reserve(&W, L->n * L->c * W.T * W.a2, &W.v0, err)) ||
        (st = reserve(&W, L->n * L->k * W.T * W.a2, &W.m0, err)) ||
        (st = reserve(&W, ny, &W.y0, err)))
        goto done;
    mark_final(&W, W.y0, ny);
    int64_t all = L->n * W.T, tb = cfg->tile_block > 0 ? cfg->tile_block : all;
    for (int64_t t_lo = 0; t_lo < all && !st; t_lo += tb)
        st = fused_block(&W, cfg, t_lo, t_lo + tb < all ? t_lo + tb : all, err);
done:
    wino_free(&W);
    return st;
}

static iob_status stored_filter(wino *W, iob_error *err)
{
    const iob_layer *L = W->L;
    int64_t r = L->r;
    for (int64_t k = 0; k < L->k; k++)
        for (int64_t c = 0; c < W->cg; c++)
            for (int64_t xi = 0; xi < W->a2; xi++)
                for (int64_t a = 0; a < r; a++)
                    for (int64_t b = 0; b < r; b++) {
                        if (!nz(W->w.G[xi / W->alpha][a]) || !nz(W->w.G[xi % W->alpha][b]))
                            continue;
                        int32_t g = W->g0 + (int32_t)(((k * W->cg + c) * r + a) * r + b);
                        iob_status st = iob_opseq_push(W->seq, u_id(W, k, c, xi), g, -1, err);
                        if (st)
                            return st;
                    }
    return IOB_OK;
}

static iob_status stored_ewmm(wino *W, const iob_sched_gemm *gcfg, iob_error *err)
{
    const iob_layer *L = W->L;
    int64_t kg = W->kg, cg = W->cg, ncol = L->n * W->T, a2 = W->a2;
    int32_t *v = malloc((size_t)(2 * (kg + cg + ncol)) * sizeof *v);
    if (!v)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for EWMM ids");
    int32_t *a_row = v, *a_col = a_row + kg, *b_row = a_col + cg, *b_col = b_row + cg,
            *c_row = b_col + ncol, *c_col = c_row + kg;
    for (int64_t l = 0; l < cg; l++)
        a_col[l] = (int32_t)(l * a2);
    for (int64_t j = 0; j < ncol; j++) {
        int64_t n = j / W->T, t = j % W->T;
        b_col[j] = (int32_t)((n * L->c * W->T + t) * a2);
        c_col[j] = (int32_t)((n * L->k * W->T + t) * a2);
    }
    iob_status st = IOB_OK;
    for (int64_t g = 0; g < L->groups && !st; g++)
        for (int64_t xi = 0; xi < a2 && !st; xi++) {
            for (int64_t i = 0; i < kg; i++) {
                a_row[i] = W->u0 + (int32_t)((g * kg + i) * cg * a2 + xi);
                c_row[i] = W->m0 + (int32_t)((g * kg + i) * W->T * a2 + xi);
            }
            for (int64_t l = 0; l < cg; l++)
                b_row[l] = W->v0 + (int32_t)((g * cg + l) * W->T * a2 + xi);
            iob_gemm_ids ids = {a_row, a_col, b_row, b_col, c_row, c_col};
            st = iob_sched_gemm_append(kg, ncol, cg, &ids, gcfg, W->seq, err);
        }
    free(v);
    return st;
}

iob_status iob_sched_winograd_stored(const iob_layer *L, const iob_sched_winograd *cfg,
                                     int phase, iob_opseq *seq, iob_error *err)
{
    if (phase < 0 || phase > 3)
        return iob_error_set(err, IOB_EINVAL, "Winograd stored phase %d (expected 0 to 3)",
                             phase);
    wino W;
    iob_status st = wino_init(&W, L, cfg->m, seq, err);
    if (st)
        return st;
    int64_t nu = L->k * W.cg * W.a2, nv = L->n * L->c * W.T * W.a2;
    int64_t nm = L->n * L->k * W.T * W.a2, ny = L->n * L->k * L->p * L->q;
    switch (phase) {
    case 0: /* g -> U */
        if ((st = reserve(&W, L->k * W.cg * L->r * L->s, &W.g0, err)) ||
            (st = reserve(&W, nu, &W.u0, err)))
            break;
        mark_final(&W, W.u0, nu);
        st = stored_filter(&W, err);
        break;
    case 1: /* d -> V */
        if ((st = reserve(&W, L->n * L->c * L->h * L->w, &W.d0, err)) ||
            (st = reserve(&W, nv, &W.v0, err)))
            break;
        mark_final(&W, W.v0, nv);
        for (int64_t n = 0; n < L->n && !st; n++)
            for (int64_t ch = 0; ch < L->c && !st; ch++)
                for (int64_t t = 0; t < W.T && !st; t++)
                    st = emit_v(&W, n, ch, t, 0, err);
        break;
    case 2: /* U, V -> M */
        if ((st = reserve(&W, nu, &W.u0, err)) || (st = reserve(&W, nv, &W.v0, err)) ||
            (st = reserve(&W, nm, &W.m0, err)))
            break;
        mark_final(&W, W.m0, nm);
        st = stored_ewmm(&W, &cfg->gemm, err);
        break;
    default: /* M -> Y */
        if ((st = reserve(&W, nm, &W.m0, err)) || (st = reserve(&W, ny, &W.y0, err)))
            break;
        mark_final(&W, W.y0, ny);
        for (int64_t n = 0; n < L->n && !st; n++)
            for (int64_t k = 0; k < L->k && !st; k++)
                for (int64_t t = 0; t < W.T && !st; t++)
                    st = emit_y(&W, n, k, t, 0, err);
        break;
    }
    wino_free(&W);
    return st;
}
