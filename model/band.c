/* band.c - what im2col + GEMM and im2win share (docs/model.md, "im2col + GEMM", "im2win"): each is
 * a transform kernel that writes a workspace, then the direct kernel on a derived layer whose
 * input is that workspace. This file has the transform's launch geometry and its closed-form
 * counts, and the composite's check / predict / candidates (the direct dataflow's, on the derived
 * layer, plus the transform).
 *
 * The transform's counts (exact; the block of plane i = n*C + c and band b reads one run of
 * rows_b*W floats at i*H*W + hlo_b*W and writes runs, gpu/kernels/band_map.cuh):
 *   read sectors  = sum_b sum_i sectors(i*H*W + hlo_b*W, rows_b*W)
 *   write sectors = im2col: sum_b sum_{j < N*C*R*S} sectors(j*P*Q + p0_b*Q, pv_b*Q)
 *                   im2win: sum_{j < N*C*P} sectors(j*Wp*R, Wp*R)
 *   copies        = the 16-byte pieces of every read run; shared-memory words read = the
 *                   workspace floats that are not padding:
 *                   im2col N*C * (sum_r rows(r)) * (sum_s cols(s)), im2win N*C * (sum_r rows(r)) * W
 * where sectors(a, len) = floor((a + len - 1)/8) - floor(a/8) + 1 depends on a mod 8 only; the
 * residues of i*H*W over i < N*C (and of j*P*Q, j*Wp*R) repeat with period 8/gcd(step, 8), so
 * each sum is O(8) per band: O(8 * bands) in all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/band_model.h"
#include "model/checked.h"
#include "model/dataflow_algo.h"

/* Shared memory a band may take: 48 KiB keeps 4 blocks of 256 threads on an SM (228 KiB); a
 * band of one output row may take up to the block's limit. */
#define BAND_SMEM_TARGET_FLOATS (48 * 1024 / 4)
/* at least this many blocks per SM before a band is split further */
#define BAND_BLOCKS_PER_SM 2

static int mod8(int64_t a) { return (int)(((a % 8) + 8) % 8); }

/* How many i in [0, count) have (i*step) mod 8 == r, for each r. */
static void residues(int64_t step, int64_t count, int64_t out[8])
{
    memset(out, 0, 8 * sizeof out[0]);
    int d = mod8(step), period = 8;
    while (period > 1 && (d * (period / 2)) % 8 == 0)
        period /= 2;
    for (int i = 0; i < period && i < count; i++)
        out[(i * d) % 8] += (count - i + period - 1) / period;
}

static int64_t sectors(int r, int64_t len) { return (r + len - 1) / 8 + 1; }
static int64_t pieces(int r, int64_t len) { return (r % 4 + len + 3) / 4; }

/* Input rows a band of `band` output rows from row p0 reads (clipped), and the first. */
static int band_rows(const iob_layer *L, int64_t p0, int64_t band, int64_t *hlo)
{
    int64_t pv = iob_min64(band, L->p - p0);
    int64_t lo = p0 * L->stride_h - L->pad_top;
    int64_t hi = (p0 + pv - 1) * L->stride_h - L->pad_top + (L->r - 1) * L->dil_h + 1;
    *hlo = iob_max64(lo, 0);
    hi = iob_min64(hi, L->h);
    return (int)iob_max64(hi - *hlo, 0);
}

static int64_t round_up(int64_t a, int64_t b) { return iob_ceil_div(a, b) * b; }

iob_status iob_band_geom_get(const iob_layer *L, int kind, const iob_machine *m, iob_band_geom *g,
                             iob_error *err)
{
    memset(g, 0, sizeof *g);
    bm_geom *G = &g->map;
    int64_t wp = L->w + L->pad_left + L->pad_right;
    int64_t run_max = kind == BM_IM2COL ? L->p * L->q : wp * L->r;
    /* every index of band_map.cuh that is an int must fit one */
    if (run_max + 64 > INT32_MAX / 2 || L->h * L->w > INT32_MAX / 2 ||
        L->r * L->s > INT32_MAX / 64)
        return iob_error_set(err, IOB_ERANGE, "the transform's rows (%lld floats) exceed its "
                             "32-bit indices", (long long)iob_max64(run_max, L->h * L->w));
    int64_t per_row = (L->r - 1) * L->dil_h + 1; /* input rows of one output row */
    int64_t one = (iob_min64(per_row, L->h) * L->w + 6) / 4 * 4;
    if (one * 4 > m->smem_per_block)
        return iob_error_set(err, IOB_EINFEASIBLE, "one output row's input band (%lld rows of "
                             "%lld floats, %.1f KiB) exceeds the %lld KiB of shared memory per "
                             "block", (long long)iob_min64(per_row, L->h), (long long)L->w,
                             one / 256.0, (long long)(m->smem_per_block / 1024));
    /* the most rows whose band fits the target: rows*W <= target - 3 (the pieces' slack) */
    int64_t band = L->p;
    if (iob_min64(per_row + (L->p - 1) * L->stride_h, L->h) * L->w > BAND_SMEM_TARGET_FLOATS - 3) {
        int64_t rows = (BAND_SMEM_TARGET_FLOATS - 3) / L->w;
        band = rows >= per_row ? (rows - per_row) / L->stride_h + 1 : 1;
    }
    /* enough blocks: N*C*bands >= 2 per SM where the planes alone are fewer */
    int64_t planes = L->n * L->c;
    int64_t want = iob_ceil_div((int64_t)BAND_BLOCKS_PER_SM * m->sm_count, planes);
    band = iob_max64(1, iob_min64(band, L->p / want));
    int64_t bands = iob_ceil_div(L->p, band);
    int64_t blocks;
    uint64_t ws, ws_f[4] = {(uint64_t)planes, (uint64_t)L->p,
                            (uint64_t)(kind == BM_IM2COL ? L->q : wp),
                            (uint64_t)(kind == BM_IM2COL ? L->r * L->s : L->r)};
    if (iob_mul_overflow_i64(planes, bands, &blocks) || blocks > INT32_MAX ||
        iob_prod_overflow_u64(ws_f, 4, &ws) || ws > (uint64_t)INT64_MAX / 8)
        return iob_error_set(err, IOB_ERANGE, "the transform's grid or workspace of %lld planes "
                             "overflows", (long long)planes);
    G->kind = kind;
    G->n = (int)L->n;
    G->c = (int)L->c;
    G->h = (int)L->h;
    G->w = (int)L->w;
    G->r = (int)L->r;
    G->s = (int)L->s;
    G->p = (int)L->p;
    G->q = (int)L->q;
    G->sh = (int)L->stride_h;
    G->sw = (int)L->stride_w;
    G->dh = (int)L->dil_h;
    G->dw = (int)L->dil_w;
    G->pad_top = (int)L->pad_top;
    G->pad_left = (int)L->pad_left;
    G->wp = kind == BM_IM2WIN ? (int)wp : 0;
    G->band = (int)band;
    G->bands = (int)bands;
    G->runs = kind == BM_IM2COL ? (int)(L->r * L->s) : (int)band;
    G->run_slots = (int)round_up((kind == BM_IM2COL ? band * L->q : wp * L->r) + 7, 32);
    if ((int64_t)G->runs * G->run_slots > INT32_MAX - BM_THREADS)
        return iob_error_set(err, IOB_ERANGE, "the transform's %d store runs of %d slots exceed "
                             "its 32-bit loop", G->runs, G->run_slots);
    g->blocks = blocks;
    g->rows_max = (int)iob_min64(per_row + (band - 1) * L->stride_h, L->h);
    g->smem_floats = ((int64_t)g->rows_max * L->w + 6) / 4 * 4;
    g->ws_floats = (int64_t)ws;
    return IOB_OK;
}

/* The counts of the last layer asked for (per thread): an enumeration predicts tens of
 * thousands of configs of one layer, and the transform does not depend on the config. */
typedef struct count_memo {
    int valid;
    bm_geom G; /* holds every size the counts depend on */
    iob_band_counts c;
} count_memo;
static _Thread_local count_memo memo;

void iob_band_count(const iob_layer *L, const iob_band_geom *g, iob_band_counts *c)
{
    const bm_geom *G = &g->map;
    if (memo.valid && !memcmp(&memo.G, G, sizeof *G)) {
        *c = memo.c;
        return;
    }
    memset(c, 0, sizeof *c);
    int64_t planes = L->n * L->c, HW = L->h * L->w, PQ = L->p * L->q, RS = L->r * L->s;
    int64_t plane_res[8], run_res[8];
    residues(HW, planes, plane_res);
    if (G->kind == BM_IM2COL)
        residues(PQ, planes * RS, run_res);
    for (int64_t p0 = 0; p0 < L->p; p0 += G->band) {
        int64_t hlo, pv = iob_min64(G->band, L->p - p0);
        int64_t len = (int64_t)band_rows(L, p0, G->band, &hlo) * L->w;
        for (int r = 0; r < 8 && len; r++) {
            int a = mod8(r + hlo * L->w);
            c->read_sectors += plane_res[r] * sectors(a, len);
            c->pieces += plane_res[r] * pieces(a, len);
        }
        for (int r = 0; r < 8 && G->kind == BM_IM2COL; r++)
            c->write_sectors += run_res[r] * sectors(mod8(r + p0 * L->q), pv * L->q);
    }
    int64_t rows = 0, cols = 0;
    for (int64_t t = 0; t < L->r; t++)
        rows += iob_axis_tap_outputs(L->h, L->p, t, L->stride_h, L->dil_h, L->pad_top);
    if (G->kind == BM_IM2COL) {
        for (int64_t t = 0; t < L->s; t++)
            cols += iob_axis_tap_outputs(L->w, L->q, t, L->stride_w, L->dil_w, L->pad_left);
    } else {
        int64_t wr = (int64_t)G->wp * L->r;
        residues(wr, planes * L->p, run_res);
        for (int r = 0; r < 8; r++)
            c->write_sectors += run_res[r] * sectors(r, wr);
        cols = L->w; /* the window's columns pad_left .. pad_left + W - 1 hold the image */
    }
    c->lds_words = planes * rows * cols;
    memo.valid = 1;
    memo.G = *G;
    memo.c = *c;
}

/* Prefixes the direct kernel's reason with what it is here. */
static iob_status gemm_fail(iob_status st, iob_error *err)
{
    if (!err)
        return st;
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return iob_error_set(err, st, "%s (the direct kernel on the derived layer)", why);
}

/* derive + iob_band_geom_get for a layer, remembered per thread for the last (algorithm,
 * layer, machine) asked: an enumeration checks tens of thousands of configs of one layer, and
 * neither depends on the config. Failures are not remembered (their message must be set). */
typedef struct derive_memo {
    int valid;
    const iob_band_algo *a;
    iob_layer L;
    int64_t smem_per_block, sm_count;
    iob_layer D;
    iob_band_geom g;
} derive_memo;
static _Thread_local derive_memo dmemo;

static iob_status derive_and_geom(const iob_band_algo *a, const iob_layer *L,
                                  const iob_machine *m, iob_layer *D, iob_band_geom *g,
                                  iob_error *err)
{
    if (dmemo.valid && dmemo.a == a && dmemo.smem_per_block == m->smem_per_block &&
        dmemo.sm_count == m->sm_count && !memcmp(&dmemo.L, L, sizeof *L)) {
        *D = dmemo.D;
        *g = dmemo.g;
        return IOB_OK;
    }
    iob_status st = a->derive(L, D, err);
    if (st || (st = iob_band_geom_get(L, a->kind, m, g, err)))
        return st;
    dmemo.valid = 1;
    dmemo.a = a;
    dmemo.L = *L;
    dmemo.smem_per_block = m->smem_per_block;
    dmemo.sm_count = m->sm_count;
    dmemo.D = *D;
    dmemo.g = *g;
    return IOB_OK;
}

iob_status iob_band_setup_get(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                              const iob_machine *m, iob_band_setup *s, iob_error *err)
{
    memset(s, 0, sizeof *s);
    if (cfg->algo != a->algo)
        return iob_error_set(err, IOB_EINVAL, "not an %s config (algo=%s)", iob_algo_name(a->algo),
                             iob_algo_name(cfg->algo));
    iob_status st = derive_and_geom(a, L, m, &s->derived, &s->g, err);
    if (st)
        return st;
    s->dcfg = *cfg;
    s->dcfg.algo = IOB_ALGO_DIRECT;
    if ((st = iob_direct_dataflow.check(&s->derived, &s->dcfg, m, &s->dres, err)))
        return gemm_fail(st, err);
    iob_direct_geom_get(&s->derived, &s->dcfg, &s->dg);
    return IOB_OK;
}

iob_status iob_band_check(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                          const iob_machine *m, iob_resources *res, iob_error *err)
{
    iob_layer D;
    iob_band_geom g;
    if (cfg->algo != a->algo)
        return iob_error_set(err, IOB_EINVAL, "not an %s config (algo=%s)", iob_algo_name(a->algo),
                             iob_algo_name(cfg->algo));
    iob_status st = derive_and_geom(a, L, m, &D, &g, err);
    if (st)
        return st;
    iob_config dcfg = *cfg;
    dcfg.algo = IOB_ALGO_DIRECT;
    if ((st = iob_direct_dataflow.check(&D, &dcfg, m, res, err)))
        return gemm_fail(st, err);
    /* the direct kernel's resources describe the main launch; the transform adds a launch and
     * its workspace */
    res->workspace_bytes += 4 * round_up(g.ws_floats, 8);
    res->kernels += 1;
    return IOB_OK;
}

iob_status iob_band_predict(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                            const iob_machine *m, const iob_resources *res, iob_traffic *t,
                            iob_error *err)
{
    (void)res;
    iob_band_setup s;
    iob_status st = iob_band_setup_get(a, L, cfg, m, &s, err);
    if (st || (st = iob_direct_dataflow.predict(&s.derived, &s.dcfg, m, &s.dres, t, err)))
        return st;
    iob_band_counts c;
    iob_band_count(L, &s.g, &c);
    const uint64_t sb = (uint64_t)m->sector_bytes;
    t->l2_read_sectors += (uint64_t)c.read_sectors;
    t->l2_write_sectors += (uint64_t)c.write_sectors;
    t->l2_read_bytes = t->l2_read_sectors * sb;
    t->l2_write_bytes = t->l2_write_sectors * sb;
    t->l2_read_requested_bytes += 16 * (uint64_t)c.pieces;
    t->smem_read_bytes += 4 * (uint64_t)c.lds_words;
    t->smem_write_bytes += 16 * (uint64_t)c.pieces;
    /* DRAM, an estimate: the transform reads the input once (a band's halo rows are the
     * neighbouring band's, read just before) and writes the workspace once; the direct part
     * counts reading it back as its input */
    double in_b = 4.0 * (double)(L->n * L->c * L->h * L->w), ws_b = 4.0 * (double)s.g.ws_floats;
    t->dram_read_bytes += in_b;
    t->dram_write_bytes += ws_b;
    t->dram_exact = 0;
    /* time: the transform streams, bound by its L2 or DRAM traffic, plus a launch */
    double l2_s = (double)((uint64_t)(c.read_sectors + c.write_sectors) * sb) /
                  iob_direct_time_h100.l2_bw;
    double dram_s = (in_b + ws_b) / iob_machine_dram_bw(m);
    t->time_s += (l2_s > dram_s ? l2_s : dram_s) + iob_direct_time_h100.launch;
    t->time_l2_s += l2_s;
    t->time_dram_s += dram_s;
    return IOB_OK;
}

iob_status iob_band_candidates(const iob_band_algo *a, const iob_layer *L, const iob_machine *m,
                               iob_config **out, size_t *count, iob_error *err)
{
    *out = NULL;
    *count = 0;
    iob_layer D;
    iob_band_geom g;
    /* a layer the transform cannot take: no candidates, and err says why */
    if (a->derive(L, &D, err) || iob_band_geom_get(L, a->kind, m, &g, err))
        return IOB_OK;
    iob_status st = iob_direct_dataflow.candidates(&D, m, out, count, err);
    size_t kept = 0;
    for (size_t i = 0; !st && i < *count; i++)
        if (!a->keep || a->keep(&D, &(*out)[i])) {
            (*out)[kept] = (*out)[i];
            (*out)[kept++].algo = a->algo;
        }
    if (!st)
        *count = kept;
    return st;
}
