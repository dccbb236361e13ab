/* direct.c - direct convolution: its I/O lower bound (this section) and, below, the config space
 * and predicted traffic of our direct kernel's dataflow (docs/model.md).
 *
 * Bound (docs/bounds.md, section "Direct convolution"). Operations are the useful multiply-adds
 * (taps on padding are not operations). Operand classes: A = weights, B = inputs, C = outputs
 * (accumulators). A segment's operations E satisfy |E| <= sqrt(rho |A||B||C|) with
 *     rho = rho_h * rho_w,  rho_h = ceil(R / (stride_h / gcd(dil_h, stride_h)))
 * the largest number of taps that read one input position (Lemma 3; groups and padding keep it).
 * Fans: a weight serves at most N*P*Q operations, an input (K/G)*rho, an output (C/G)*R*S.
 * Leading term: 2 * MACs / sqrt(rho * S); for rho = 1 it is the GEMM bound 2mnk/sqrt(S).
 *
 * Tap subsets (docs/bounds.md, "Direct convolution"): the multiply-adds of a subset of taps form
 * a sub-computation whose every schedule is the restriction of a schedule of the layer, so its
 * bound is a bound of the layer too. Where the stride does not divide the filter (R = 4,
 * stride 3: classes of 2 and 1 taps), dropping taps can lower rho faster than it lowers the
 * operations; the bound is the larger of the full layer's and the best subset's, which keeps it
 * monotone in R.
 */
#include <math.h>
#include <stdlib.h>

#include "model/bound_common.h"

#define TAPS_STACK 64

/* The taps of one axis kept when at most c of each reuse class are kept (the c with the most
 * valid outputs): writes their number and their valid outputs' sum. */
static void axis_subset(int64_t extent, int64_t out, int64_t taps, int64_t stride, int64_t dil,
                        int64_t pad, int64_t c, int64_t *n_kept, double *valid_kept)
{
    int64_t period = stride;
    for (int64_t a = dil, b = stride; b;) { /* period = stride / gcd(dil, stride) */
        int64_t t = a % b;
        a = b;
        b = t;
        if (!b)
            period = stride / a;
    }
    *n_kept = 0;
    *valid_kept = 0;
    int64_t vstack[TAPS_STACK];
    int64_t *v = taps <= TAPS_STACK ? vstack : malloc((size_t)taps * sizeof *v);
    if (!v)
        return;
    for (int64_t k = 0; k < period && k < taps; k++) { /* class k: taps k, k + period, ... */
        int64_t n = 0;
        for (int64_t t = k; t < taps; t += period)
            v[n++] = iob_axis_tap_outputs(extent, out, t, stride, dil, pad);
        for (int64_t i = 1; i < n; i++) /* descending by valid outputs (classes are short) */
            for (int64_t j = i; j > 0 && v[j - 1] < v[j]; j--) {
                int64_t tmp = v[j];
                v[j] = v[j - 1];
                v[j - 1] = tmp;
            }
        for (int64_t i = 0; i < n && i < c; i++) {
            (*n_kept)++;
            *valid_kept += (double)v[i];
        }
    }
    if (v != vstack)
        free(v);
}

iob_status iob_bound_direct(const iob_layer *L, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err)
{
    iob_layer_counts c;
    iob_status st = iob_bound_opts_check(opts, err);
    if (st || (st = iob_layer_counts_get(L, &c, err)))
        return st;
    iob_bound_start(out, IOB_ALGO_DIRECT, "direct", opts);
    out->flops = (double)c.flops;
    out->compulsory = (double)c.compulsory_elems;
    double rho_h = iob_axis_reuse(L->r, L->stride_h, L->dil_h);
    double rho_w = iob_axis_reuse(L->s, L->stride_w, L->dil_w);
    double kg = (double)(L->k / L->groups), cg = (double)(L->c / L->groups);
    double npq = (double)L->n * (double)L->p * (double)L->q;
    iob_pebble pb = {
        .ops = (double)c.useful_macs,
        .rho = rho_h * rho_w,
        .cap = {(double)c.weight_used_elems, (double)c.input_used_elems, (double)c.output_elems},
        .fan = {npq, kg * rho_h * rho_w, cg * (double)L->r * (double)L->s},
        .unpaid = 0,
    };
    iob_bound_finish_pebble(out, &pb);

    /* The tap subset with the best leading term, ops / sqrt(rho), if it is not the whole filter. */
    double best = 0, best_ch = rho_h, best_cw = rho_w;
    for (double ch = 1; ch <= rho_h; ch++)
        for (double cw = 1; cw <= rho_w; cw++) {
            int64_t nh, nw;
            double vh, vw;
            axis_subset(L->h, L->p, L->r, L->stride_h, L->dil_h, L->pad_top, (int64_t)ch, &nh, &vh);
            axis_subset(L->w, L->q, L->s, L->stride_w, L->dil_w, L->pad_left, (int64_t)cw, &nw, &vw);
            double lead = vh * vw / sqrt(ch * cw);
            if (lead > best * (1 + 1e-12)) {
                best = lead;
                best_ch = ch;
                best_cw = cw;
            }
        }
    if (best_ch < rho_h || best_cw < rho_w) {
        int64_t nh, nw;
        double vh, vw;
        axis_subset(L->h, L->p, L->r, L->stride_h, L->dil_h, L->pad_top, (int64_t)best_ch, &nh, &vh);
        axis_subset(L->w, L->q, L->s, L->stride_w, L->dil_w, L->pad_left, (int64_t)best_cw, &nw, &vw);
        iob_pebble sub = {
            .ops = (double)L->n * (double)L->k * cg * vh * vw,
            .rho = best_ch * best_cw,
            .cap = {kg * (double)L->groups * cg * (double)nh * (double)nw,
                    (double)c.input_used_elems, (double)c.output_elems},
            .fan = {npq, kg * best_ch * best_cw, cg * (double)nh * (double)nw},
            .unpaid = 0,
            .floor = out->compulsory,
        };
        iob_pebble_result r = iob_pebble_bound(&sub, out->s_words, out->processors);
        if (r.one > out->reuse || r.gpu > out->reuse_gpu) {
            out->reuse = fmax(out->reuse, r.one);
            out->reuse_gpu = fmax(out->reuse_gpu, r.gpu);
            out->bound = fmax(out->compulsory, out->reuse);
            out->bound_gpu = fmax(out->compulsory, out->reuse_gpu);
            snprintf(out->dominant, sizeof out->dominant, "%s",
                     out->reuse_gpu > out->compulsory ? "reuse (tap subset)" : "compulsory");
        }
    }
    return IOB_OK;
}

/* ---- the dataflow of our direct kernel (docs/model.md, "Direct convolution") ---------------
 *
 * Grid: x = output-pixel tiles (tile_p x tile_q of one image), y = G * tiles of tile_k output
 * channels, z = N * split_c. A block walks the channels of its split in chunks of tile_c; per
 * chunk (one pipeline stage) it copies the filter slice [tile_c][R][S][tile_k] (from the filter
 * reordered [G][C/G][R][S][K/G] once per layer) and the input patch
 * [tile_c][(tile_p-1)*stride_h+(R-1)*dil_h+1][(tile_q-1)*stride_w+(S-1)*dil_w+1] into shared
 * memory, zeros for padding, clipped edges and channels past C/G. Each thread accumulates
 * micro_k x micro_p x micro_q outputs in registers. split_c > 1 writes partial sums to a
 * workspace [split_c][N*K*P*Q rounded up to 32] that a second kernel sums.
 *
 * Counting (exact): SM<->L2 read sectors = for every block and stage the distinct 32-byte sectors
 * its loads touch; write sectors = the distinct sectors of each block's stores. All bases are
 * 2 MiB aligned, so a sector is 8 consecutive floats of a tensor and only addresses modulo 8
 * matter. A stage's input is a box [cn][hn][wn] of the NCHW tensor: rows of wn floats, W apart,
 * planes H*W apart. Its distinct sectors are
 *     sum over rows of sectors(row)  -  #(consecutive rows whose end and start share a sector)
 * (rows sorted by address are disjoint, so a sector shared by m+1 rows is counted m+1 times and
 * subtracted m times). Each term depends on the row's start modulo 8 only, and the starts of a
 * box advance by W and H*W, so the sums run over cycles of length 8/gcd(step, 8): O(8) per box
 * shape and start residue. Blocks and stages are then grouped by (box shape, start residue)
 * through per-axis histograms (tile rows, tile columns, chunks, images), so a prediction costs
 * O(tiles_p + tiles_q + G + a few 8x8 convolutions), never a loop over elements.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/checked.h"
#include "model/dataflow_algo.h"
#include "model/direct_model.h"

#define SECTOR_FLOATS 8
/* register estimate: accumulators + min(operands of one unrolled step, REGS_OPS_MAX) +
 * REGS_BASE, a budget ptxas keeps to under the kernel's launch bounds without spilling on the
 * best configs of every benchmark layer: docs/model.md, "Registers" */
#define REGS_BASE 24
#define REGS_OPS_MAX 40

static int64_t round_up(int64_t a, int64_t b) { return iob_ceil_div(a, b) * b; }
static int gcd_int(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}
static int mod8(int64_t a) { return (int)(((a % 8) + 8) % 8); }

/* Shared-memory wavefronts of one warp-wide read of the input patch: lane l has
 * tq_idx = l % tqt, tp_idx = (l / tqt) % tpt, tn_idx = (l / (tqt * tpt)) % tn and reads `width`
 * words from tn_idx*plane_step + tp_idx*row_step + tq_idx*col_step*width. A phase (all 32 lanes
 * for 4-byte reads, 8 lanes for 16-byte reads) takes as many wavefronts as the most distinct
 * words on one of the 32 banks. */
static int patch_wavefronts(int tn, int tpt, int tqt, int64_t plane_step, int64_t row_step,
                            int col_step, int width)
{
    int lanes_per_phase = width == 4 ? 8 : 32, total = 0;
    for (int phase = 0; phase < 32 / lanes_per_phase; phase++) {
        int64_t words[32];
        int n = 0;
        for (int l = phase * lanes_per_phase; l < (phase + 1) * lanes_per_phase; l++) {
            int64_t a = (int64_t)((l / (tqt * tpt)) % tn) * plane_step +
                        (int64_t)((l / tqt) % tpt) * row_step + (int64_t)(l % tqt) * col_step * width;
            for (int w = 0; w < width; w++) {
                int dup = 0;
                for (int i = 0; i < n && !dup; i++)
                    dup = words[i] == a + w;
                if (!dup)
                    words[n++] = a + w;
            }
        }
        int per_bank[32] = {0}, worst = 1;
        for (int i = 0; i < n; i++) {
            int b = (int)(words[i] % 32);
            if (++per_bank[b] > worst)
                worst = per_bank[b];
        }
        total += worst;
    }
    return total;
}

/* Distinct values of j*a + s*d over j < mq, s < S: the patch columns one thread reads per
 * (c, r) (a bitmap while they stay below 4096, else pairwise). */
static int distinct_offsets_count(int mq, int64_t a, int64_t S, int64_t d);

/* distinct_offsets_count remembered per thread (an enumeration asks for a few dozen arguments
 * tens of thousands of times) */
typedef struct offsets_key {
    int64_t mq, a, S, d;
    int n;
} offsets_key;
#define OFFSETS_CACHE 256
static _Thread_local offsets_key offsets_cache[OFFSETS_CACHE];

static int distinct_offsets(int mq, int64_t a, int64_t S, int64_t d)
{
    uint64_t x = (uint64_t)mq * 0x9e3779b97f4a7c15ull ^ (uint64_t)a * 0xbf58476d1ce4e5b9ull ^
                 (uint64_t)S * 0x94d049bb133111ebull ^ (uint64_t)d;
    offsets_key *e = &offsets_cache[(x ^ (x >> 31)) % OFFSETS_CACHE];
    if (e->mq == mq && e->a == a && e->S == S && e->d == d && e->n > 0)
        return e->n;
    int n = distinct_offsets_count(mq, a, S, d);
    *e = (offsets_key){mq, a, S, d, n};
    return n;
}

static int distinct_offsets_count(int mq, int64_t a, int64_t S, int64_t d)
{
    int64_t span = (mq - 1) * a + (S - 1) * d;
    int n = 0;
    if (span < 64) {
        uint64_t bits = 0;
        for (int j = 0; j < mq; j++)
            for (int64_t s = 0; s < S; s++)
                bits |= 1ull << (j * a + s * d);
        return __builtin_popcountll(bits);
    }
    if (span < 4096) {
        uint64_t bits[64] = {0};
        for (int j = 0; j < mq; j++)
            for (int64_t s = 0; s < S; s++) {
                int64_t x = j * a + s * d;
                uint64_t bit = 1ull << (x % 64);
                n += !(bits[x / 64] & bit);
                bits[x / 64] |= bit;
            }
        return n;
    }
    /* j*a + s*d = j'*a + s'*d needs (j-j')*a = (s'-s)*d: count each value at its first j */
    n = mq * (int)S;
    if (a <= (S - 1) * d)
        for (int j = 0; j < mq; j++)
            for (int64_t s = 0; s < S; s++)
                for (int j2 = 0; j2 < j; j2++)
                    if ((j - j2) * a % d == 0 && s + (j - j2) * a / d < S) {
                        n--;
                        break;
                    }
    return n;
}

/* The patch pitch: the least of iw_copy, iw_copy + 4, ... (below iw_copy + 32) whose warp-wide
 * reads take the fewest wavefronts (the rows of a warp's lanes spread over the banks).
 * Remembered per thread for the last few thousand shapes: the enumeration asks again and again. */
typedef struct pitch_key {
    int tn, tpt, tqt, row_unit, ih, iw_copy, col, width, pitch, wf;
} pitch_key;
#define PITCH_CACHE 4096
static _Thread_local pitch_key pitch_cache[PITCH_CACHE];

static void choose_pitch(int tn, int tpt, int tqt, int64_t row_unit, int ih, int iw_copy, int col,
                         int width, int *pitch_out, int *wf_out)
{
    uint64_t x = ((uint64_t)tpt << 48) ^ ((uint64_t)tqt << 36) ^ ((uint64_t)row_unit << 24) ^
                 ((uint64_t)iw_copy << 8) ^ ((uint64_t)tn << 4) ^ ((uint64_t)col << 2) ^
                 (uint64_t)width ^ ((uint64_t)col << 56) ^ ((uint64_t)ih << 40);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    unsigned h = (unsigned)(x % PITCH_CACHE);
    pitch_key *e = &pitch_cache[h];
    if (e->tn == tn && e->tpt == tpt && e->tqt == tqt && e->row_unit == row_unit && e->ih == ih &&
        e->iw_copy == iw_copy && e->col == col && e->width == width) {
        *pitch_out = e->pitch;
        *wf_out = e->wf;
        return;
    }
    /* reading one row only is the least any pitch can do */
    int least = patch_wavefronts(1, 1, tqt, 0, 0, col, width), best_wf = 1 << 30, best = iw_copy;
    for (int pitch = iw_copy; pitch < iw_copy + 32 && best_wf > least; pitch += 4) {
        int wf = (tpt == 1 && tn == 1) || tqt >= 32
                     ? least
                     : patch_wavefronts(tn, tpt, tqt, (int64_t)ih * pitch, row_unit * pitch, col,
                                        width);
        if (wf < best_wf) {
            best_wf = wf;
            best = pitch;
        }
    }
    *e = (pitch_key){tn, tpt, tqt, (int)row_unit, ih, iw_copy, col, width, best, best_wf};
    *pitch_out = best;
    *wf_out = best_wf;
}

/* Sum over the warps of a block of the distinct values of (tid / div) % mod among their lanes:
 * the distinct filter bases (div = tqt*tpt*tn, mod = tkt) or patch bases (div 1, mod
 * tqt*tpt*tn) a warp-wide LDS reads. */
static int64_t warp_distinct(int threads, int div, int mod)
{
    int64_t sum = 0;
    for (int w0 = 0; w0 < threads; w0 += 32) {
        int w1 = w0 + 32 < threads ? w0 + 32 : threads;
        /* values taken by consecutive tids form runs of `div`; a warp spans few of them */
        int first = w0 / div, last = (w1 - 1) / div, span = last - first + 1;
        sum += span >= mod ? mod : span;
    }
    return sum;
}

/* The staged output's pitch: round4(tile_q), plus 4 when that is a multiple of 32 (rows would
 * start on one bank). The epilogue writes each output once; its bank conflicts cost little next
 * to the main loop, so no search. */
static int out_pitch_of(const iob_config *cfg)
{
    int base = (cfg->tile_q + 3) / 4 * 4;
    return base % 32 ? base : base + 4;
}

void iob_direct_geom_get(const iob_layer *L, const iob_config *cfg, iob_direct_geom *g)
{
    memset(g, 0, sizeof *g);
    g->cg = L->c / L->groups;
    g->kg = L->k / L->groups;
    g->tn = cfg->tile_n > 1 ? cfg->tile_n : 1;
    g->tiles_p = iob_ceil_div(L->p, cfg->tile_p);
    g->tiles_q = iob_ceil_div(L->q, cfg->tile_q);
    g->tiles_k = iob_ceil_div(g->kg, cfg->tile_k);
    g->tiles_n = iob_ceil_div(L->n, g->tn);
    g->chunks = iob_ceil_div(g->cg, cfg->tile_c);
    g->chunks_per_split = iob_ceil_div(g->chunks, cfg->split_c);
    g->grid[0] = g->tiles_p * g->tiles_q;
    g->grid[1] = L->groups * g->tiles_k;
    g->grid[2] = g->tiles_n * cfg->split_c;
    g->grid_blocks = g->grid[0] * g->grid[1] * g->grid[2];
    g->tkt = cfg->tile_k / cfg->micro_k;
    g->tpt = cfg->tile_p / cfg->micro_p;
    g->tqt = cfg->tile_q / cfg->micro_q;
    g->threads = g->tkt * g->tn * g->tpt * g->tqt;
    g->ih = (int)((cfg->tile_p - 1) * L->stride_h + (L->r - 1) * L->dil_h + 1);
    g->iw = (int)((cfg->tile_q - 1) * L->stride_w + (L->s - 1) * L->dil_w + 1);
    /* input pieces: a constant shift when every row's w0 has one residue modulo 4, and a
     * constant e8 when it has one modulo 8 */
    int const4 = L->w % 4 == 0 && (cfg->tile_q * L->stride_w) % 4 == 0;
    int const8 = L->w % 8 == 0 && (cfg->tile_q * L->stride_w) % 8 == 0;
    g->in_shift = const4 ? mod8(-L->pad_left) % 4 : -1;
    g->in_e8 = const8 ? mod8(-L->pad_left) / 4 : -1;
    g->in_pieces = (int)iob_ceil_div((const4 ? g->in_shift : 3) + g->iw, 4);
    g->in_slots = (int)round_up(g->in_pieces + (g->in_e8 == 0 ? 0 : 1), 2);
    /* Rows next to each other in memory may share a sector when a tile's needed columns come
     * within 7 floats of the width; one warp instruction would then read it once for both, and
     * the per-row count would be wrong. The copy walk (image fastest, then channel, then row)
     * puts such rows d rows apart; in_slots * (d - 1) >= 31 keeps them 32 slots apart, out of
     * any one instruction. */
    /* the widest tile: the first two, the last two, or any tile between them (all as wide as
     * the first tile that starts in the image) */
    int64_t max_width = 0;
    for (int64_t t = 0; t < g->tiles_q; t = t == 2 && g->tiles_q > 4 ? g->tiles_q - 2 : t + 1) {
        int64_t q0 = t * cfg->tile_q, w0 = q0 * L->stride_w - L->pad_left;
        int64_t tq = iob_min64(cfg->tile_q, L->q - q0);
        int64_t hi = iob_min64(w0 + (tq - 1) * L->stride_w + (L->s - 1) * L->dil_w + 1, L->w);
        int64_t width = hi - iob_max64(w0, 0);
        if (width > max_width)
            max_width = width;
    }
    g->in_share = L->w - max_width <= 6;
    if (g->in_share) {
        int64_t tc = cfg->tile_c, tn = g->tn, d = INT32_MAX;
        if (g->ih >= 2)
            d = tc * tn; /* rows y, y+1 of one channel */
        if (tc >= 2) {
            int64_t dp = ((int64_t)(g->ih - 1) * tc - 1) * tn; /* channel c's last, c+1's first */
            d = iob_min64(d, dp < 0 ? -dp : dp);
        }
        if (tn >= 2 && L->c == 1) /* image n's last row, n+1's first */
            d = iob_min64(d, (int64_t)(g->ih - 1) * tc * tn - 1 > 1 ? (g->ih - 1) * tc * tn - 1 : 1);
        g->in_share_dist = (int)iob_min64(d, INT32_MAX);
        if (d >= 2)
            g->in_slots = (int)iob_max64(g->in_slots, round_up(iob_ceil_div(31, d - 1), 2));
    }
    g->iw_copy = 4 * g->in_pieces;
    g->left_fix = L->w % 4 != 0 && L->pad_left > 0;
    g->tkp = (int)round_up(cfg->tile_k, 4);
    g->cgp = g->chunks * cfg->tile_c;
    g->f_stage_floats = (int64_t)cfg->tile_c * L->r * L->s * g->tkp;
    g->f_pieces = (int)(g->f_stage_floats / 4);
    /* slice starts: ((g*tiles_k + kt)*cgp + chunk*tile_c)*R*S*tkp, all multiples of 8 when
     * R*S*tkp is */
    g->f_e8 = (L->r * L->s * g->tkp) % 8 == 0 ? 0 : -1;
    g->f_slots = (int)round_up(g->f_pieces + (g->f_e8 == 0 ? 0 : 1), 2);
    /* a multiple of in_slots where possible, so a thread keeps its slot (set below) */
    g->copy_threads = g->threads / 2 * 2;
    g->store_threads = g->threads / 8 * 8;
    g->vec_q = g->in_shift == 0 && L->s == 1 && L->stride_w == 1 && cfg->micro_q % 4 == 0;
    g->vec_k = cfg->micro_k % 4 == 0;
    int64_t row_unit = (int64_t)cfg->micro_p * L->stride_h;
    if (g->vec_q) {
        choose_pitch(g->tn, g->tpt, g->tqt, row_unit, g->ih, g->iw_copy, 1, 4, &g->iw_pitch,
                     &g->wavefronts_in);
        g->x_distinct = cfg->micro_q;
    } else {
        /* strided columns (q = tq_idx + j*tqt) or a window of consecutive ones
         * (q = tq_idx*micro_q + j, whose taps overlap: fewer distinct patch words); the one
         * with fewer patch wavefronts per (c, r), strided on a tie */
        int xs = distinct_offsets(cfg->micro_q, (int64_t)g->tqt * L->stride_w, L->s, L->dil_w);
        int xw = distinct_offsets(cfg->micro_q, L->stride_w, L->s, L->dil_w);
        int ps, pw, ws, ww;
        choose_pitch(g->tn, g->tpt, g->tqt, row_unit, g->ih, g->iw_copy, (int)L->stride_w, 1, &ps,
                     &ws);
        choose_pitch(g->tn, g->tpt, g->tqt, row_unit, g->ih, g->iw_copy,
                     cfg->micro_q * (int)L->stride_w, 1, &pw, &ww);
        g->q_window = cfg->micro_q > 1 && xw * ww < xs * ws;
        g->iw_pitch = g->q_window ? pw : ps;
        g->wavefronts_in = g->q_window ? ww : ws;
        g->x_distinct = g->q_window ? xw : xs;
    }
    if (g->threads >= g->in_slots)
        g->copy_threads = g->threads / g->in_slots * g->in_slots;
    g->in_stage_floats = (int64_t)cfg->tile_c * g->tn * g->ih * g->iw_pitch;
    g->stage_floats = g->in_stage_floats + g->f_stage_floats;
    /* outputs: runs as long as the tile spans the output's rows, planes and channels */
    int span_q = cfg->tile_q >= L->q, span_p = span_q && cfg->tile_p >= L->p;
    g->out_run = !span_q ? 0 : !span_p ? 1 : cfg->tile_k >= g->kg && L->groups == 1 ? 3 : 2;
    g->out_vec = L->q % 4 == 0 && (cfg->tile_q % 4 == 0 || span_q);
    int64_t PQ = L->p * L->q, tk_max = iob_min64(cfg->tile_k, g->kg);
    int64_t run_len = g->out_run == 0   ? iob_min64(cfg->tile_q, L->q)
                      : g->out_run == 1 ? iob_min64(cfg->tile_p, L->p) * L->q
                      : g->out_run == 2 ? tk_max * PQ
                                        : (int64_t)g->tn * tk_max * PQ;
    g->out_slots = (int)((run_len + 14) / 8); /* sectors of a run at the worst residue */
    g->out_runs = g->out_run == 0   ? cfg->tile_k * g->tn * cfg->tile_p
                  : g->out_run == 1 ? cfg->tile_k * g->tn
                  : g->out_run == 2 ? g->tn
                                    : 1;
    /* runs of one block that meet inside a sector (gap of at most 6 floats) must not share a
     * store instruction: the walk puts them d runs apart, and out_slots * (8 or 2) * (d - 1)
     * >= 31 keeps them 32 lanes apart */
    int64_t min_tq = L->q - (g->tiles_q - 1) * cfg->tile_q, min_tp = L->p - (g->tiles_p - 1) * cfg->tile_p;
    int64_t d = INT32_MAX;
    if (g->out_run == 0 && L->q - min_tq <= 6) {
        if (cfg->tile_p >= 2)
            d = (int64_t)cfg->tile_k * g->tn; /* rows p, p+1 of one plane */
        if (cfg->tile_p >= L->p && (cfg->tile_k >= 2 || g->tn >= 2)) /* plane k's last row,
                                                                          k+1's first */
            d = iob_min64(d, iob_max64((int64_t)(cfg->tile_p - 1) * g->tn * cfg->tile_k - 1, 1));
    } else if (g->out_run == 1 && (L->p - min_tp) * L->q <= 6 && cfg->tile_k >= 2) {
        d = g->tn; /* planes k, k+1 */
    } else if (g->out_run == 2 && tk_max >= g->kg && L->groups == 1 && g->tn >= 2 &&
               (g->kg * PQ) % 8) {
        d = 1; /* cannot happen: such tiles are one run (3) */
    }
    g->out_share_dist = (int)iob_min64(d, INT32_MAX);
    if (d < INT32_MAX && d >= 2)
        g->out_slots = (int)iob_max64(g->out_slots,
                                      iob_ceil_div(31, (d - 1) * (g->out_vec ? 2 : 8)));
    g->out_pitch = out_pitch_of(cfg);
    g->out_floats = (int64_t)cfg->tile_k * g->tn * cfg->tile_p * g->out_pitch;
    g->smem_floats = (int64_t)cfg->stages * g->stage_floats;
    if (g->out_floats > g->smem_floats)
        g->smem_floats = g->out_floats;
    g->smem_bytes = g->smem_floats * 4;
    g->c_unroll = iob_direct_c_unroll(cfg, L, g);
    g->elems_out = L->n * L->k * L->p * L->q;
    g->ws_plane = round_up(g->elems_out, 32);
    g->ws_partial_bytes = cfg->split_c > 1 ? (int64_t)cfg->split_c * g->ws_plane * 4 : 0;
    g->ws_filter_bytes = L->groups * g->tiles_k * g->cgp * L->r * L->s * g->tkp * 4;
}

void iob_direct_map_fill(const iob_layer *L, const iob_config *cfg, const iob_direct_geom *g,
                         dm_geom *m)
{
    memset(m, 0, sizeof *m);
    m->n = (int)L->n;
    m->c = (int)L->c;
    m->h = (int)L->h;
    m->w = (int)L->w;
    m->k = (int)L->k;
    m->r = (int)L->r;
    m->s = (int)L->s;
    m->p = (int)L->p;
    m->q = (int)L->q;
    m->sh = (int)L->stride_h;
    m->sw = (int)L->stride_w;
    m->dh = (int)L->dil_h;
    m->dw = (int)L->dil_w;
    m->pad_top = (int)L->pad_top;
    m->pad_left = (int)L->pad_left;
    m->cg = (int)g->cg;
    m->kg = (int)g->kg;
    m->tile_k = cfg->tile_k;
    m->tile_n = g->tn;
    m->tile_p = cfg->tile_p;
    m->tile_q = cfg->tile_q;
    m->tile_c = cfg->tile_c;
    m->micro_k = cfg->micro_k;
    m->micro_p = cfg->micro_p;
    m->micro_q = cfg->micro_q;
    m->split_c = cfg->split_c;
    m->tkt = g->tkt;
    m->tpt = g->tpt;
    m->tqt = g->tqt;
    m->threads = g->threads;
    m->tiles_q = (int)g->tiles_q;
    m->tiles_k = (int)g->tiles_k;
    m->chunks = (int)g->chunks;
    m->chunks_per_split = (int)g->chunks_per_split;
    m->ih = g->ih;
    m->iw = g->iw;
    m->in_shift = g->in_shift;
    m->in_e8 = g->in_e8;
    m->in_pieces = g->in_pieces;
    m->in_slots = g->in_slots;
    m->pitch = g->iw_pitch;
    m->tkp = g->tkp;
    m->cgp = (int)g->cgp;
    m->f_e8 = g->f_e8;
    m->f_pieces = g->f_pieces;
    m->f_slots = g->f_slots;
    m->f_off = (int)g->in_stage_floats;
    m->copy_threads = g->copy_threads;
    m->store_threads = g->store_threads;
    m->out_run = g->out_run;
    m->out_vec = g->out_vec;
    m->out_pitch = g->out_pitch;
    m->out_slots = g->out_slots;
    m->out_runs = g->out_runs;
}

int iob_direct_c_unroll(const iob_config *cfg, const iob_layer *L, const iob_direct_geom *g)
{
    /* the largest of 4, 2, 1 that divides tile_c and keeps one unrolled step within 256 FFMAs
     * and REGS_OPS_MAX operands (more unrolling made ptxas hoist the loads of every channel
     * and spill: 128 x 28 x 8 tiles of a 1x1 layer at 4 channels per step) */
    int per_c = (int)L->s * cfg->micro_k * cfg->micro_p * cfg->micro_q;
    int ops = cfg->micro_p * g->x_distinct + (int)L->s * cfg->micro_k;
    for (int u = 4; u > 1; u /= 2)
        if (cfg->tile_c % u == 0 && u * per_c <= 256 && u * ops <= REGS_OPS_MAX)
            return u;
    return 1;
}

int iob_direct_regs_estimate(const iob_layer *L, const iob_config *cfg, const iob_direct_geom *g)
{
    /* accumulators + the operands of one unrolled step of the channel loop that the compiler
     * keeps live at once (c_unroll x (micro_p x the distinct patch columns + S x micro_k filter
     * values); ptxas interleaves loads and FFMAs beyond about 56 of them) + addressing and loop
     * state. */
    int acc = cfg->micro_k * cfg->micro_p * cfg->micro_q;
    int ops = (cfg->micro_p * g->x_distinct + (int)L->s * cfg->micro_k) * g->c_unroll;
    int regs = acc + (ops < REGS_OPS_MAX ? ops : REGS_OPS_MAX) + REGS_BASE;
    return (int)round_up(regs, 8);
}

/* ---- sector counting ------------------------------------------------------------------------ */

/* sum_{i < count} v[(r0 + i*step) mod 8]: the residues repeat every 8/gcd(step mod 8, 8) terms */
static int64_t cycle_sum(const int64_t v[8], int r0, int64_t step, int64_t count)
{
    if (count <= 0)
        return 0;
    int d = mod8(step), period = 8 / gcd_int(d, 8);
    int64_t cyc = 0, part = 0, rem = count % period;
    for (int i = 0; i < period; i++) {
        int64_t x = v[(r0 + i * d) % 8];
        cyc += x;
        if (i < rem)
            part += x;
    }
    return (count / period) * cyc + part;
}

/* Sectors of a run of len >= 1 floats starting at residue r (0..7). */
static int64_t run_sectors(int r, int64_t len) { return (r + len - 1) / SECTOR_FLOATS + 1; }

/* What a run of wn floats costs at each start residue: its sectors (kind 0), or the floats of
 * the 16-byte pieces that cover it (kind 1: the copies' requested floats). */
static void run_costs(int64_t wn, int kind, int64_t v[8])
{
    for (int r = 0; r < 8; r++)
        v[r] = kind == 0 ? run_sectors(r, wn) : (r % 4 + wn + 3) / 4 * 4;
}

/* Sum over the cn x hn rows of a box (rows `row` floats apart, planes `plane` apart) of the
 * cost v of each row at its start residue, for each residue of the box's start: out[r]. Rows are
 * counted apart (a sector two rows share is read or written by two instructions). */
static void box_rows(int64_t cn, int64_t hn, int64_t row, int64_t plane, const int64_t v[8],
                     int64_t out[8])
{
    memset(out, 0, 8 * sizeof out[0]);
    if (cn <= 0 || hn <= 0)
        return;
    int64_t per_plane[8];
    for (int r = 0; r < 8; r++)
        per_plane[r] = cycle_sum(v, r, row, hn);
    for (int r = 0; r < 8; r++)
        out[r] = cycle_sum(per_plane, r, plane, cn);
}

/* A histogram of (extent, start residue) pairs along one axis of the blocks or stages. */
#define HIST_MAX 64
typedef struct hist {
    int n;
    int64_t len[HIST_MAX];
    int64_t cnt[HIST_MAX][8];
    int overflow;
} hist;

static void hist_add(hist *h, int64_t len, int res, int64_t count)
{
    for (int i = 0; i < h->n; i++)
        if (h->len[i] == len) {
            h->cnt[i][res] += count;
            return;
        }
    if (h->n == HIST_MAX) {
        h->overflow = 1;
        return;
    }
    h->len[h->n] = len;
    memset(h->cnt[h->n], 0, sizeof h->cnt[0]);
    h->cnt[h->n][res] += count;
    h->n++;
}

/* c[r] = sum over a + b = r (mod 8) of a[a] * b[b] */
static void conv8(const int64_t a[8], const int64_t b[8], int64_t c[8])
{
    int64_t t[8] = {0};
    for (int i = 0; i < 8; i++)
        if (a[i])
            for (int j = 0; j < 8; j++)
                t[(i + j) % 8] += a[i] * b[j];
    memcpy(c, t, sizeof t);
}

/* How many i in [0, count) have (r0 + i*step) mod 8 == r, for each r. */
static void progression_hist(int r0, int64_t step, int64_t count, int64_t out[8])
{
    memset(out, 0, 8 * sizeof out[0]);
    int d = mod8(step), period = 8 / gcd_int(d, 8);
    for (int i = 0; i < period && i < count; i++)
        out[(r0 + i * d) % 8] += (count - i + period - 1) / period;
}

/* Tile rows (or columns) of the output and their input windows: extent after clipping to
 * [0, extent) and the start offset of the window. */
static void window_hist(int64_t out, int64_t tile, int64_t stride, int64_t taps, int64_t dil,
                        int64_t pad, int64_t extent, int64_t row_floats, hist *h)
{
    h->n = 0;
    h->overflow = 0;
    for (int64_t o0 = 0; o0 < out; o0 += tile) {
        int64_t t = iob_min64(tile, out - o0);
        int64_t a = o0 * stride - pad, span = (t - 1) * stride + (taps - 1) * dil + 1;
        int64_t lo = iob_max64(a, 0), hi = iob_min64(extent, a + span);
        if (hi <= lo)
            hist_add(h, 0, 0, 1);
        else
            hist_add(h, hi - lo, mod8(lo * row_floats), 1);
    }
}

/* Output tile rows (or columns): extent and start. */
static void tile_hist(int64_t out, int64_t tile, int64_t row_floats, hist *h)
{
    h->n = 0;
    h->overflow = 0;
    for (int64_t o0 = 0; o0 < out; o0 += tile)
        hist_add(h, iob_min64(tile, out - o0), mod8(o0 * row_floats), 1);
}

/* sum over the classes of three histograms (planes, rows, columns) of the product of their
 * counts times box_rows(planes, rows) of the column class's run cost (kind as run_costs) at the
 * summed start residue. */
static int64_t sum_boxes(const hist *ha, const hist *hb, const hist *hc, int64_t row,
                         int64_t plane, int kind)
{
    int64_t total = 0;
    for (int i = 0; i < ha->n; i++)
        for (int j = 0; j < hb->n; j++) {
            int64_t ab[8];
            conv8(ha->cnt[i], hb->cnt[j], ab);
            for (int k = 0; k < hc->n; k++) {
                if (hc->len[k] <= 0)
                    continue;
                int64_t abc[8], f[8], v[8];
                conv8(ab, hc->cnt[k], abc);
                run_costs(hc->len[k], kind, v);
                box_rows(ha->len[i], hb->len[j], row, plane, v, f);
                for (int r = 0; r < 8; r++)
                    total += abc[r] * f[r];
            }
        }
    return total;
}

static int mulmod8(int64_t a, int64_t b) { return mod8(mod8(a) * mod8(b)); }

/* Channel chunks of every (image, group): classes by chunk length, residue of the chunk's first
 * element ((n*C + g*C/G + i*tile_c) * plane) mod 8. */
static void chunk_hist(const iob_layer *L, const iob_config *cfg, const iob_direct_geom *g,
                       int64_t plane, int64_t images, hist *h)
{
    h->n = 0;
    h->overflow = 0;
    int64_t nfull = g->cg / cfg->tile_c, last = g->cg - nfull * cfg->tile_c;
    int64_t full[8] = {0}, part[8] = {0}, img[8];
    for (int64_t gi = 0; gi < L->groups; gi++) {
        int r0 = mulmod8(gi * g->cg, plane);
        int64_t ph[8];
        progression_hist(r0, mod8(cfg->tile_c) * mod8(plane), nfull, ph);
        for (int r = 0; r < 8; r++)
            full[r] += ph[r];
        if (last)
            part[mod8(r0 + mulmod8(nfull * cfg->tile_c, plane))]++;
    }
    progression_hist(0, mulmod8(L->c, plane), images, img);
    conv8(full, img, full);
    conv8(part, img, part);
    if (nfull) {
        hist_add(h, cfg->tile_c, 0, 0);
        memcpy(h->cnt[h->n - 1], full, sizeof full);
    }
    if (last) {
        hist_add(h, last, 0, 0);
        memcpy(h->cnt[h->n - 1], part, sizeof part);
    }
}

typedef struct direct_counts {
    int64_t in_sectors, f_sectors, out_sectors, red_read, red_write;
    int64_t in_floats;    /* floats of the input pieces the copies read */
    int64_t fix_words;    /* floats the left-edge fix-up zeroes */
    int64_t block_chunks; /* sum over blocks of the chunks each walks */
} direct_counts;

/* The sums of count_traffic depend on few config fields each (input: tile_p, tile_q, tile_c;
 * filter: tile_k, tile_c; stores: tile_k, tile_p, tile_q, tile_n), while an enumeration asks for tens of
 * thousands of configs of one layer: each thread remembers them for the last layer it saw (a
 * direct-mapped table per sum; a collision only recomputes). */
#define MEMO_SIZE 1024
typedef struct memo_entry {
    int a, b, c, valid;
    int64_t v0, v1, v2;
} memo_entry;
typedef struct memo {
    int64_t shape[19];
    memo_entry in[MEMO_SIZE], f[MEMO_SIZE], out[MEMO_SIZE];
} memo;
static _Thread_local memo *memo_tls;

static memo *memo_for(const iob_layer *L)
{
    int64_t shape[19] = {L->n, L->c, L->h, L->w, L->k, L->r, L->s, L->stride_h, L->stride_w,
                         L->pad_top, L->pad_bottom, L->pad_left, L->pad_right, L->dil_h,
                         L->dil_w, L->groups, L->p, L->q, 2};
    if (!memo_tls) {
        /* one per thread, kept for the thread's life (a few hundred KiB) */
        memo_tls = calloc(1, sizeof *memo_tls);
        if (!memo_tls)
            return NULL;
    }
    if (memcmp(memo_tls->shape, shape, sizeof shape)) {
        memset(memo_tls, 0, sizeof *memo_tls);
        memcpy(memo_tls->shape, shape, sizeof shape);
    }
    return memo_tls;
}

static memo_entry *memo_slot(memo_entry *table, int a, int b, int c, int *hit)
{
    unsigned h = ((unsigned)a * 2654435761u ^ (unsigned)b * 40503u ^ (unsigned)c * 97u) % MEMO_SIZE;
    memo_entry *e = &table[h];
    *hit = e->valid && e->a == a && e->b == b && e->c == c;
    if (!*hit) {
        e->a = a;
        e->b = b;
        e->c = c;
        e->valid = 0;
    }
    return e;
}

/* Words the left-edge fix-up zeroes over the whole layer for one k tile: for every tile with
 * w0 < 0 and every patch row it reads, (index of image column 0) mod 4
 * (gpu/kernels/direct_map.cuh, dm_in_fix). */
static int64_t fix_words_per_ktile(const iob_layer *L, const iob_config *cfg)
{
    int64_t HW = L->h * L->w, left = 0;
    for (int64_t q0 = 0; q0 < L->q; q0 += cfg->tile_q) {
        int64_t w0 = q0 * L->stride_w - L->pad_left;
        int64_t tq = iob_min64(cfg->tile_q, L->q - q0);
        int64_t hi = iob_min64(w0 + (tq - 1) * L->stride_w + (L->s - 1) * L->dil_w + 1, L->w);
        left += w0 < 0 && hi > 0;
    }
    if (!left)
        return 0;
    /* residues of (n*C + c) * H*W over every image and channel, and of h*W over the rows the
     * tiles read */
    int64_t nc[8], rows[8] = {0}, both[8], sum = 0;
    progression_hist(0, HW, L->n * L->c, nc);
    for (int64_t p0 = 0; p0 < L->p; p0 += cfg->tile_p) {
        int64_t tp = iob_min64(cfg->tile_p, L->p - p0), h0 = p0 * L->stride_h - L->pad_top;
        int64_t ih = (tp - 1) * L->stride_h + (L->r - 1) * L->dil_h + 1;
        for (int64_t y = 0; y < ih; y++)
            if (h0 + y >= 0 && h0 + y < L->h)
                rows[mulmod8(h0 + y, L->w)]++;
    }
    conv8(nc, rows, both);
    for (int r = 0; r < 8; r++)
        sum += both[r] * (r % 4);
    return left * sum;
}

/* Fills c; IOB_ENOTSUP when the edge tiles come in more shapes than the histograms hold
 * (padding of thousands of tiles), rather than a wrong count. */
static iob_status count_traffic(const iob_layer *L, const iob_config *cfg,
                                const iob_direct_geom *g, direct_counts *c, iob_error *err)
{
    memset(c, 0, sizeof *c);
    int64_t HW = L->h * L->w, PQ = L->p * L->q, RS = L->r * L->s;
    memo *mm = memo_for(L);
    int hit = 0, overflow = 0;

    /* input: per block, stage and patch row, the sectors of the row's needed columns (each read
     * by one warp instruction); TK k-tiles load each (image, group, chunk, pixel tile) patch */
    memo_entry tmp_in = {0}, *e = mm ? memo_slot(mm->in, cfg->tile_p, cfg->tile_q, cfg->tile_c,
                                                  &hit)
                                     : &tmp_in;
    if (!hit) {
        hist chunks, rows, cols;
        chunk_hist(L, cfg, g, HW, L->n, &chunks);
        window_hist(L->p, cfg->tile_p, L->stride_h, L->r, L->dil_h, L->pad_top, L->h, L->w,
                    &rows);
        window_hist(L->q, cfg->tile_q, L->stride_w, L->s, L->dil_w, L->pad_left, L->w, 1, &cols);
        overflow |= chunks.overflow | rows.overflow | cols.overflow;
        e->v0 = sum_boxes(&chunks, &rows, &cols, L->w, HW, 0);
        e->v1 = sum_boxes(&chunks, &rows, &cols, L->w, HW, 1);
        e->v2 = g->left_fix ? fix_words_per_ktile(L, cfg) : 0;
        e->valid = !overflow;
    }
    c->in_sectors = g->tiles_k * e->v0;
    c->in_floats = g->tiles_k * e->v1;
    c->fix_words = g->tiles_k * e->v2;

    /* filter: per block and stage one contiguous slice of tile_c*R*S*tkp floats of the
     * workspace [G][tiles_k][cgp][R][S][tkp], starting at ((g*tiles_k + kt)*cgp +
     * chunk*tile_c)*R*S*tkp */
    memo_entry tmp_f = {0};
    e = mm ? memo_slot(mm->f, cfg->tile_k, cfg->tile_c, 0, &hit) : &tmp_f;
    if (!hit) {
        int64_t rst = RS * g->tkp, slices[8], chunk_res[8], res[8], v[8], fsum = 0;
        progression_hist(0, g->cgp * rst, L->groups * g->tiles_k, slices);
        progression_hist(0, cfg->tile_c * rst, g->chunks, chunk_res);
        conv8(slices, chunk_res, res);
        run_costs(g->f_stage_floats, 0, v);
        for (int r = 0; r < 8; r++)
            fsum += res[r] * v[r];
        e->v0 = fsum;
        e->valid = 1;
    }
    int64_t pixel_tiles = g->tiles_p * g->tiles_q;
    c->f_sectors = e->v0 * g->tiles_n * pixel_tiles;
    c->block_chunks = g->tiles_k * pixel_tiles * g->tiles_n * L->groups * g->chunks;

    /* stores: each block its runs (rows of the tile, or whole planes or images when the tile
     * spans them), into the output or its split plane (planes are 32-float aligned, so every
     * split has the output's residues) */
    memo_entry tmp_o = {0};
    /* keyed by the images per block too: a block of tn whole images stores one run (out_run 3) */
    e = mm ? memo_slot(mm->out, cfg->tile_k, cfg->tile_p, cfg->tile_q * 32 + g->tn, &hit) : &tmp_o;
    if (!hit) {
        hist kout, prow, pcol;
        kout.n = 0;
        kout.overflow = 0;
        int64_t img[8];
        progression_hist(0, mulmod8(L->k, PQ), L->n, img);
        int64_t ktail = g->kg - (g->tiles_k - 1) * cfg->tile_k;
        for (int64_t gi = 0; gi < L->groups; gi++)
            for (int64_t kt = 0; kt < g->tiles_k; kt++) {
                int64_t tk = kt == g->tiles_k - 1 ? ktail : cfg->tile_k;
                hist_add(&kout, tk, mulmod8(gi * g->kg + kt * cfg->tile_k, PQ), 1);
            }
        for (int i = 0; i < kout.n; i++)
            conv8(kout.cnt[i], img, kout.cnt[i]);
        tile_hist(L->p, cfg->tile_p, L->q, &prow);
        tile_hist(L->q, cfg->tile_q, 1, &pcol);
        overflow |= kout.overflow | prow.overflow | pcol.overflow;
        int64_t osum = 0, v[8];
        if (g->out_run == 0) {
            osum = sum_boxes(&kout, &prow, &pcol, L->q, PQ, 0);
        } else if (g->out_run == 3) {
            /* one run per block: tn_v images of all K planes */
            int64_t n_full = L->n / g->tn, n_tail = L->n % g->tn, starts[8];
            progression_hist(0, mulmod8((int64_t)g->tn * L->k, PQ), n_full, starts);
            run_costs((int64_t)g->tn * L->k * PQ, 0, v);
            for (int r = 0; r < 8; r++)
                osum += starts[r] * v[r];
            if (n_tail) {
                run_costs(n_tail * L->k * PQ, 0, v);
                osum += v[mulmod8(n_full * g->tn * L->k, PQ)];
            }
        } else {
            /* a plane run per k of tp*Q floats (1), or one run of tk*P*Q per image (2) */
            for (int i = 0; i < kout.n; i++)
                for (int j = 0; j < prow.n; j++) {
                    int64_t ab[8], f[8];
                    conv8(kout.cnt[i], prow.cnt[j], ab);
                    if (g->out_run == 1) {
                        run_costs(prow.len[j] * L->q, 0, v);
                        box_rows(kout.len[i], 1, 0, PQ, v, f);
                    } else {
                        run_costs(kout.len[i] * PQ, 0, f);
                    }
                    for (int r = 0; r < 8; r++)
                        osum += ab[r] * f[r];
                }
        }
        e->v0 = osum;
        e->valid = !overflow;
    }
    c->out_sectors = cfg->split_c * e->v0;
    if (overflow)
        return iob_error_set(err, IOB_ENOTSUP, "the edge tiles of this layer come in more than "
                             "%d shapes (padding of many tiles): no closed-form count", HIST_MAX);

    if (cfg->split_c > 1) {
        int64_t blocks = iob_ceil_div(g->elems_out, IOB_DIRECT_REDUCE_THREADS);
        int64_t tail = g->elems_out - (blocks - 1) * IOB_DIRECT_REDUCE_THREADS;
        int64_t per = (blocks - 1) * (IOB_DIRECT_REDUCE_THREADS / SECTOR_FLOATS) +
                      iob_ceil_div(tail, SECTOR_FLOATS);
        c->red_read = cfg->split_c * per;
        c->red_write = per;
    }
    return IOB_OK;
}

iob_status iob_direct_sectors(const iob_layer *L, const iob_config *cfg, int64_t sectors[5],
                              iob_error *err)
{
    iob_direct_geom g;
    iob_direct_geom_get(L, cfg, &g);
    direct_counts c;
    iob_status st = count_traffic(L, cfg, &g, &c, err);
    if (st)
        return st;
    sectors[0] = c.in_sectors;
    sectors[1] = c.f_sectors;
    sectors[2] = c.out_sectors;
    sectors[3] = c.red_read;
    sectors[4] = c.red_write;
    return IOB_OK;
}

/* ---- resources and feasibility ---------------------------------------------------------- */

#define SMEM_RESERVED_PER_BLOCK 1024 /* the CUDA runtime keeps 1 KiB per block on sm_80+ [CG] */
#define STAGES_MAX 4
#define SM_SUBPARTITIONS 4 /* warp schedulers, each with a quarter of the register file [CG] */

static iob_status direct_check(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                               iob_resources *res, iob_error *err)
{
    if (cfg->algo != IOB_ALGO_DIRECT)
        return iob_error_set(err, IOB_EINVAL, "not a direct config");
    if (cfg->wino_m)
        return iob_error_set(err, IOB_EINVAL, "wino_m=%d is a Winograd key, not a direct one",
                             cfg->wino_m);
    if (cfg->layout)
        return iob_error_set(err, IOB_EINFEASIBLE, "layout=%d: the direct kernel reads NCHW "
                             "(layout=0) only", cfg->layout);
    const struct {
        const char *key;
        int v;
    } pos[] = {{"tile_k", cfg->tile_k},   {"tile_p", cfg->tile_p},   {"tile_q", cfg->tile_q},
               {"tile_c", cfg->tile_c},   {"micro_k", cfg->micro_k}, {"micro_p", cfg->micro_p},
               {"micro_q", cfg->micro_q}, {"stages", cfg->stages},   {"split_c", cfg->split_c}};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v < 1)
            return iob_error_set(err, IOB_EINVAL, "%s=%d: a direct config needs it >= 1",
                                 pos[i].key, pos[i].v);
    const struct {
        const char *tile, *micro;
        int t, u;
    } div[] = {{"tile_k", "micro_k", cfg->tile_k, cfg->micro_k},
               {"tile_p", "micro_p", cfg->tile_p, cfg->micro_p},
               {"tile_q", "micro_q", cfg->tile_q, cfg->micro_q}};
    for (int i = 0; i < 3; i++)
        if (div[i].t % div[i].u)
            return iob_error_set(err, IOB_EINFEASIBLE, "%s=%d is not a multiple of %s=%d",
                                 div[i].tile, div[i].t, div[i].micro, div[i].u);
    if (cfg->stages > STAGES_MAX)
        return iob_error_set(err, IOB_EINFEASIBLE, "stages=%d: the kernel pipelines 1 to %d "
                             "stages", cfg->stages, STAGES_MAX);
    iob_direct_geom g;
    iob_direct_geom_get(L, cfg, &g);
    if (cfg->split_c > g.chunks || (cfg->split_c - 1) * g.chunks_per_split >= g.chunks)
        return iob_error_set(err, IOB_EINFEASIBLE,
                             "split_c=%d leaves a split without channels (C/G=%lld in %lld "
                             "chunks of tile_c=%d, %lld per split)", cfg->split_c,
                             (long long)g.cg, (long long)g.chunks, cfg->tile_c,
                             (long long)g.chunks_per_split);
    if (g.in_share && g.in_share_dist < 2)
        return iob_error_set(err, IOB_EINFEASIBLE, "tile_c=%d x tile_n=%d: patch rows that share "
                             "a sector in memory would be copied by one instruction", cfg->tile_c,
                             g.tn);
    if (g.out_share_dist < 2)
        return iob_error_set(err, IOB_EINFEASIBLE, "output runs of one block that share a sector "
                             "would be stored by one instruction (tile_k=%d x tile_n=%d)",
                             cfg->tile_k, g.tn);
    if (g.threads < 8)
        return iob_error_set(err, IOB_EINFEASIBLE, "%d threads per block < 8 (a store "
                             "instruction writes whole 32-byte sectors, 8 lanes each)", g.threads);
    if (g.threads > m->threads_per_block_max)
        return iob_error_set(err, IOB_EINFEASIBLE, "%d threads per block > %d (tile/micro = "
                             "%d x %d x %d)", g.threads, m->threads_per_block_max, g.tkt, g.tpt,
                             g.tqt);
    if (g.smem_bytes > m->smem_per_block)
        return iob_error_set(err, IOB_EINFEASIBLE, "shared memory %lld B (%.1f KiB) > %lld KiB "
                             "per block", (long long)g.smem_bytes, g.smem_bytes / 1024.0,
                             (long long)(m->smem_per_block / 1024));
    if (g.smem_bytes + SMEM_RESERVED_PER_BLOCK > m->smem_per_sm)
        return iob_error_set(err, IOB_EINFEASIBLE, "shared memory %lld B + 1 KiB reserved > "
                             "%lld KiB per SM", (long long)g.smem_bytes,
                             (long long)(m->smem_per_sm / 1024));
    int regs = iob_direct_regs_estimate(L, cfg, &g);
    if (regs > m->regs_per_thread_max)
        return iob_error_set(err, IOB_EINFEASIBLE, "estimated %d registers per thread > %d "
                             "(micro tile %d x %d x %d)", regs, m->regs_per_thread_max,
                             cfg->micro_k, cfg->micro_p, cfg->micro_q);
    int warps = (g.threads + 31) / 32;
    int64_t regs_warp = round_up((int64_t)regs * 32, m->regs_alloc_unit);
    /* The register file is split over the SM's 4 sub-partitions, each holding whole warps:
     * b blocks fit when ceil(b * warps / 4) warps fit one sub-partition's quarter. This is the
     * rule ptxas applies under __launch_bounds__ (392 threads, 9 blocks asked: it capped at 96
     * registers, where 65536 / (9 * 64) alone would allow 112). */
    int64_t warps_per_part = (m->regs_per_sm / SM_SUBPARTITIONS) / regs_warp;
    int by_regs = (int)(SM_SUBPARTITIONS * warps_per_part / warps);
    if (by_regs < 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "registers %lld per block (%d per thread x "
                             "%d warps) do not fit the register file (%lld per SM in %d "
                             "sub-partitions)", (long long)(regs_warp * warps), regs, warps,
                             (long long)m->regs_per_sm, SM_SUBPARTITIONS);
    if (g.grid[1] > 65535 || g.grid[2] > 65535 || g.grid[0] > 2147483647LL)
        return iob_error_set(err, IOB_EINFEASIBLE, "grid %lld x %lld x %lld exceeds the CUDA "
                             "limits (2^31-1 x 65535 x 65535)", (long long)g.grid[0],
                             (long long)g.grid[1], (long long)g.grid[2]);
    int bps = m->blocks_per_sm_max;
    int by_threads = m->threads_per_sm_max / (warps * 32);
    int by_smem = (int)(m->smem_per_sm / (g.smem_bytes + SMEM_RESERVED_PER_BLOCK));
    if (by_threads < bps)
        bps = by_threads;
    if (by_smem < bps)
        bps = by_smem;
    if (by_regs < bps)
        bps = by_regs;
    res->threads = g.threads;
    res->smem_bytes = g.smem_bytes;
    res->regs_per_thread = regs;
    res->blocks_per_sm = bps;
    res->grid_blocks = g.grid_blocks;
    res->waves = iob_ceil_div(g.grid_blocks, (int64_t)bps * m->sm_count);
    res->occupancy = (double)(bps * warps) / (m->threads_per_sm_max / 32);
    res->workspace_bytes = g.ws_partial_bytes + g.ws_filter_bytes;
    res->kernels = cfg->split_c > 1 ? 2 : 1;
    return IOB_OK;
}

/* ---- predicted traffic and time -------------------------------------------------------- */

/* Instructions of the kernel's parts a thread issues, read off the SASS of direct.cu (CUDA 13.0,
 * sm_90; docs/model.md, "Time model"): per input copy slot (index arithmetic of
 * direct_map.cuh, the cp.async), per filter copy slot, per store slot, per (c, r) iteration of the
 * inner loop beyond its LDS and FFMA, per stage (wait, barrier, commit, loop), per block. */
#define INSTR_IN_SLOT 39.0       /* one shift for every row (vgg16.conv3_2, 128 x 14 x 8) */
#define INSTR_IN_SLOT_ROW 83.0   /* a shift per row (resnet50.res5.3x3, 7 x 8 x 2 images) */
#define INSTR_F_SLOT 10.0
#define INSTR_STORE_SLOT 48.0
#define INSTR_CR 4.0
#define INSTR_STAGE 40.0
#define INSTR_BLOCK 80.0
#define INSTR_FIX_ROW 20.0

void iob_direct_time_features_get(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                  const iob_resources *res, const iob_direct_geom *g,
                                  iob_direct_time_features *f)
{
    memset(f, 0, sizeof *f);
    int64_t tc = cfg->tile_c, acc = cfg->micro_k * cfg->micro_p * cfg->micro_q;
    f->per_sm_blocks = (double)iob_ceil_div(g->grid_blocks, m->sm_count);
    f->resident = f->per_sm_blocks < res->blocks_per_sm ? f->per_sm_blocks : res->blocks_per_sm;
    f->warps = (g->threads + 31) / 32;
    f->chunks = (double)g->chunks / cfg->split_c;
    f->stages = cfg->stages;
    /* per (c, r): the filter values (LDS.128 with vec_k) and the patch words (LDS.128 with
     * vec_q; else one LDS a word: the compiler merges some, an upper count) */
    double lds_cr = L->s * (g->vec_k ? cfg->micro_k / 4.0 : cfg->micro_k) +
                    cfg->micro_p * (g->vec_q ? g->x_distinct / 4.0 : g->x_distinct);
    double in_slots = ceil((double)tc * g->tn * g->ih * g->in_slots / g->copy_threads);
    double f_slots = ceil((double)g->f_slots / g->copy_threads);
    f->instr_stage = (double)(tc * L->r * L->s * acc) + (double)(tc * L->r) * (lds_cr + INSTR_CR) +
                     in_slots * (g->in_shift >= 0 && g->in_e8 >= 0 ? INSTR_IN_SLOT
                                                                     : INSTR_IN_SLOT_ROW) +
                     f_slots * INSTR_F_SLOT + INSTR_STAGE;
    if (g->left_fix)
        f->instr_stage += ceil((double)tc * g->tn * g->ih / g->threads) * INSTR_FIX_ROW +
                          INSTR_STAGE / 2;
    double store_slots = ceil((double)g->out_runs * g->out_slots * (g->out_vec ? 2 : 8) /
                              g->store_threads);
    int vec_out = g->vec_q || (g->q_window && cfg->micro_q % 4 == 0);
    f->instr_block = INSTR_BLOCK + (vec_out ? acc / 4.0 : (double)acc) +
                     store_slots * INSTR_STORE_SLOT;
    /* shared-memory wavefronts: the patch reads x their conflict degree, the filter reads (an
     * LDS.128 is served a quarter warp per wavefront), the copies (32 words a wavefront); the
     * staged output written and read once */
    double wf_cr = cfg->micro_p * (g->vec_q ? g->x_distinct / 4.0 : g->x_distinct) *
                       g->wavefronts_in +
                   (double)(L->s * cfg->micro_k);
    f->wavefronts_stage = wf_cr * f->warps * (double)(tc * L->r) +
                          (double)(tc * g->tn * g->ih * g->iw_copy + g->f_stage_floats) / 32.0;
    f->wavefronts_block = 2.0 * (double)cfg->tile_k * g->tn * cfg->tile_p * cfg->tile_q / 32.0;
    f->kernels = res->kernels;
}

static iob_status direct_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 const iob_resources *res, iob_traffic *t, iob_error *err)
{
    iob_direct_geom g;
    iob_direct_geom_get(L, cfg, &g);
    direct_counts c;
    iob_status st = count_traffic(L, cfg, &g, &c, err);
    if (st)
        return st;
    const uint64_t sb = (uint64_t)m->sector_bytes;
    t->l2_read_sectors = (uint64_t)(c.in_sectors + c.f_sectors + c.red_read);
    t->l2_write_sectors = (uint64_t)(c.out_sectors + c.red_write);
    t->l2_read_bytes = t->l2_read_sectors * sb;
    t->l2_write_bytes = t->l2_write_sectors * sb;
    t->l2_read_requested_bytes =
        (uint64_t)(c.in_floats + (int64_t)c.block_chunks * g.f_stage_floats) * 4 +
        (cfg->split_c > 1 ? (uint64_t)cfg->split_c * (uint64_t)g.elems_out * 4 : 0);

    int64_t RS = L->r * L->s, tc = cfg->tile_c, acc = cfg->micro_k * cfg->micro_p * cfg->micro_q;
    int64_t blocks_main = g.grid_blocks;
    /* Shared memory, as sm__sass_data_bytes_mem_shared counts it (docs/model.md): per warp-wide
     * LDS the distinct lane addresses x the width; every cp.async's 16 bytes (zero fill too);
     * every STS. Main loop, per (c, r): a warp's filter loads (S*micro_k words per lane) have
     * warp_k_bases distinct lane addresses, its patch loads (micro_p*x_distinct words)
     * warp_x_bases. */
    double warp_k_bases = (double)warp_distinct(g.threads, g.tqt * g.tpt * g.tn, g.tkt);
    double warp_x_bases = (double)warp_distinct(g.threads, 1, g.tqt * g.tpt * g.tn);
    double lds_cr = 4.0 * (warp_k_bases * (double)(L->s * cfg->micro_k) +
                           warp_x_bases * (double)(cfg->micro_p * g.x_distinct));
    /* the largest counts below: refuse layers where they pass 2^63 */
    if ((double)c.block_chunks * (double)(tc * L->r) * lds_cr > 9.2e18 ||
        (double)c.block_chunks * (double)(tc * RS) * cfg->tile_k * g.tn * cfg->tile_p *
                cfg->tile_q > 9.2e18)
        return iob_error_set(err, IOB_ERANGE, "predicted counts of this layer overflow 64 bits");
    uint64_t lds_main = (uint64_t)c.block_chunks * (uint64_t)(tc * L->r) * (uint64_t)lds_cr;
    /* the epilogue: every thread's tile in (STS), every valid output out (LDS) */
    uint64_t sts_out = 4ull * (uint64_t)blocks_main * (uint64_t)g.threads * (uint64_t)acc;
    uint64_t lds_out = 4ull * (uint64_t)cfg->split_c * (uint64_t)g.elems_out;
    t->smem_read_bytes = lds_main + lds_out;
    t->smem_write_bytes = 4ull * (uint64_t)c.block_chunks *
                              (uint64_t)(tc * g.tn * g.ih * g.iw_copy + g.f_stage_floats) +
                          4ull * (uint64_t)c.fix_words + sts_out;
    t->ffma = (uint64_t)c.block_chunks * (uint64_t)(tc * RS) * (uint64_t)cfg->tile_k *
              (uint64_t)g.tn * (uint64_t)cfg->tile_p * (uint64_t)cfg->tile_q;
    double red_adds = cfg->split_c > 1 ? (double)(cfg->split_c - 1) * (double)g.elems_out : 0;
    t->flops = 2.0 * (double)t->ffma + red_adds;

    /* DRAM: compulsory when input + filter + output fit the L2 capacity of data every
     * partition's SMs read (iob_machine_l2_shared_bytes: half the H100's L2; past it the H100
     * reads up to 1.42x compulsory, docs/counters.md "DRAM: the L2's two partitions"). The
     * split partial planes go to DRAM and back (measured on the H100: res2.3x3 and res4.3x3 at
     * batch 1, split 16 and 64, read input + filter + partials from DRAM,
     * docs/results/device/validate-direct-v1.csv), so a split makes the figure an estimate. */
    double in_b = 4.0 * (double)(L->n * L->c * L->h * L->w);
    double f_b = (double)g.ws_filter_bytes, out_b = 4.0 * (double)g.elems_out;
    double ws_b = (double)g.ws_partial_bytes, l2 = (double)iob_machine_l2_shared_bytes(m);
    if (in_b + f_b + out_b <= l2) {
        t->dram_exact = cfg->split_c == 1;
        t->dram_read_bytes = in_b + f_b;
        t->dram_write_bytes = out_b;
    } else {
        /* Estimate from reuse distances in launch order (x = pixel tiles fastest, then k
         * tiles, then image tiles and splits): an image's input is read again by each k tile
         * unless the image tile's input, one k tile's outputs and its filter slice stay in the
         * L2 between them; the filter is read again by each image tile unless one image tile's
         * whole working set (its input, its outputs, the filter) fits. */
        double img_in = in_b / (double)g.tiles_n, img_out = out_b / (double)g.tiles_n;
        double slice = f_b / (double)g.tiles_k / (double)L->groups;
        /* these windows are taken against the whole L2: the blocks of one wave share them at
         * about the same time, which the half capacity above would not allow for (with it the
         * estimates of calls 7 and 9 fell to 0.29-0.14 of the measured reads) */
        double l2_all = (double)m->l2_bytes;
        double in_reads = img_in + img_out / (double)g.tiles_k + slice <= l2_all
                              ? 1.0
                              : (double)g.tiles_k;
        double f_reads = img_in + img_out + f_b <= l2_all ? 1.0 : (double)g.tiles_n;
        t->dram_exact = 0;
        t->dram_read_bytes = in_b * in_reads + f_b * f_reads;
        t->dram_write_bytes = out_b;
    }
    t->dram_read_bytes += ws_b;
    t->dram_write_bytes += ws_b;

    /* Time (docs/model.md, "Time model"; model/direct_time.c) */
    iob_direct_time_features f;
    iob_direct_time_features_get(L, cfg, m, res, &g, &f);
    f.l2_bytes = (double)((uint64_t)(c.in_sectors + c.f_sectors + c.out_sectors) * sb);
    f.stage_l2_bytes = (double)((c.in_sectors + c.f_sectors) * (int64_t)sb) / (double)c.block_chunks;
    f.dram_bytes = t->dram_read_bytes + t->dram_write_bytes;
    if (cfg->split_c > 1) {
        /* the reduction reads the partials (from DRAM: see above) and writes the output */
        f.reduce_l2_bytes = (double)((uint64_t)(c.red_read + c.red_write) * sb);
        f.reduce_dram_bytes = ws_b + out_b;
        f.dram_bytes -= ws_b + out_b;
    }
    iob_direct_time_parts parts;
    iob_direct_time_eval(&f, &iob_direct_time_h100, m, &parts);
    t->time_s = parts.time_s;
    t->time_flop_s = parts.issue_s;
    t->time_l2_s = parts.l2_s;
    t->time_dram_s = parts.dram_s;
    t->time_smem_s = 0;
    t->time_limiter = parts.latency_share > 0.5 ? "latency" : "fp32";
    double best = parts.issue_s;
    if (parts.l2_s > best) {
        best = parts.l2_s;
        t->time_limiter = "l2";
    }
    if (parts.dram_s > best)
        t->time_limiter = "dram";
    return IOB_OK;
}

/* ---- the config space -------------------------------------------------------------------- */

/* Tile sides for an output extent: powers of two up to 32 that are below twice the extent, and
 * the extent's own divisors from 3 to 32 (edge-friendly: no clipped last tile). */
static int side_values(int64_t extent, int whole, int out[24])
{
    int n = 0;
    for (int v = 1; v <= 32; v *= 2)
        if (v < 2 * extent)
            out[n++] = v;
    for (int v = 3; v <= 32 && v <= extent; v++)
        if (extent % v == 0 && (v & (v - 1)) != 0)
            out[n++] = v;
    /* whole rows up to 64 columns: runs of whole planes, contiguous patches of 1x1 layers */
    if (whole && extent > 32 && extent <= 64)
        out[n++] = (int)extent;
    return n;
}

/* A growable list of configs. */
typedef struct config_list {
    iob_config *v;
    size_t n, cap;
} config_list;

static int list_push(config_list *l, const iob_config *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        iob_config *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
    return 0;
}

/* The register tiles and stages of one block tile (tile_k, tile_n, tile_p, tile_q, tile_c,
 * split_c set in t): register tiles of 8 to 64 outputs (4 for odd tiles, 2 for tiles of fewer
 * than 256 outputs), no taller than wide, even sides where the tile is even, 32 to 512 threads (8
 * for small tiles), 1 to 3 stages. */
static int push_micro(config_list *l, iob_config t)
{
    static const int mk_v[] = {1, 2, 4, 8}, mp_v[] = {1, 2, 4}, mq_v[] = {1, 2, 4, 8};
    int tk = t.tile_k, tp = t.tile_p, tq = t.tile_q, tn = t.tile_n > 1 ? t.tile_n : 1;
    int odd = tk % 2 || tq % 2, small = tk * tn * tp * tq < 256;
    /* a block of fewer than 64 outputs (K <= 8 on a 1x1 image): one output a thread is what
     * reaches 8 threads */
    int tiny = tk * tn * tp * tq < 64;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                int mk = mk_v[i], mp = mp_v[j], mq = mq_v[k], acc = mk * mp * mq;
                if (tk % mk || tp % mp || tq % mq || acc > 64 ||
                    acc < (tiny ? 1 : small ? 2 : odd ? 4 : 8) || mp > mq ||
                    (mk == 1 && tk % 2 == 0 && !tiny) || (mq == 1 && tq % 2 == 0 && !tiny))
                    continue;
                int threads = (tk / mk) * tn * (tp / mp) * (tq / mq);
                if ((threads < 32 && !small) || threads < 8 || threads > 512)
                    continue;
                t.micro_k = mk;
                t.micro_p = mp;
                t.micro_q = mq;
                for (t.stages = 1; t.stages <= 3; t.stages++)
                    if (list_push(l, &t))
                        return -1;
            }
    return 0;
}

static iob_status direct_candidates(const iob_layer *L, const iob_machine *m, iob_config **out,
                                    size_t *count, iob_error *err)
{
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    int tp_v[24], tq_v[24], tk_v[8], tc_v[8], tn_v[8], ntk = 0, ntc = 0, ntn = 0;
    int ntp = side_values(L->p, 0, tp_v), ntq = side_values(L->q, 1, tq_v);
    /* several images per block (tile_n, 0 = one) where a tile holds a whole image: the filter
     * slice then serves them all (small images at large batch re-read the filter per image) */
    tn_v[ntn++] = 0;
    for (int v = 2; v <= 16 && v <= L->n; v *= 2)
        tn_v[ntn++] = v;
    for (int v = 8; v <= 256; v *= 2)
        if (v < 2 * kg)
            tk_v[ntk++] = v;
    if (kg < 256 && (kg & (kg - 1)) != 0)
        tk_v[ntk++] = (int)kg;
    if (ntk == 0)
        tk_v[ntk++] = 8;
    /* one channel per stage only for layers of fewer than 4 channels per group: a stage of one
     * channel spends its time on the barrier and the pipeline (docs/model.md, time model); and
     * for input planes smaller than a sector (H*W < 8, e.g. the 1x1 squeeze-excitation layers):
     * the planes of several channels share sectors there, which one stage's copy plan cannot
     * split between its patch rows (direct_check refuses every tile_c > 1 of them) */
    for (int v = cg < 4 || L->h * L->w < 8 ? 1 : 2; v <= 32; v *= 2)
        if (v < 2 * cg)
            tc_v[ntc++] = v;
    config_list l = {0};
    iob_config t;
    memset(&t, 0, sizeof t);
    t.algo = IOB_ALGO_DIRECT;
    for (int a = 0; a < ntk; a++)
        for (int b = 0; b < ntp; b++)
            for (int c = 0; c < ntq; c++)
                for (int e = 0; e < ntn; e++) {
                    int tk = tk_v[a], tp = tp_v[b], tq = tq_v[c], tn = tn_v[e] ? tn_v[e] : 1;
                    /* at least 16 pixels (or the whole image) and at most 512 per block; rows
                     * of at least 4 columns (one sector of 8 floats is read by 4 to 8 columns);
                     * several images only in tiles of a whole image */
                    if (tn * tp * tq > 512 || tp * tq < (L->p * L->q < 16 ? L->p * L->q : 16) ||
                        (tq < 4 && L->q >= 4 && L->p * L->q >= 16) ||
                        (tn > 1 && (tp < L->p || tq < L->q)))
                        continue;
                    int64_t base = iob_ceil_div(L->p, tp) * iob_ceil_div(L->q, tq) * L->groups *
                                   iob_ceil_div(kg, tk) * iob_ceil_div(L->n, tn);
                    t.tile_k = tk;
                    t.tile_p = tp;
                    t.tile_q = tq;
                    t.tile_n = tn_v[e];
                    for (int d = 0; d < ntc; d++)
                        for (int split = 1; split <= 64; split *= 2) {
                            /* split the channels only until one wave of blocks is reached */
                            if (split > 1 && (split > iob_ceil_div(cg, tc_v[d]) ||
                                              base * (split / 2) >= m->sm_count))
                                break;
                            t.tile_c = tc_v[d];
                            t.split_c = split;
                            if (push_micro(&l, t)) {
                                free(l.v);
                                return iob_error_set(err, IOB_ENOMEM,
                                                     "out of memory for the config space");
                            }
                        }
                }
    if (!l.v && !(l.v = malloc(sizeof *l.v))) /* an empty space is still an allocated array */
        return iob_error_set(err, IOB_ENOMEM, "out of memory for the config space");
    *out = l.v;
    *count = l.n;
    return IOB_OK;
}

const iob_dataflow_ops iob_direct_dataflow = {
    .algo = IOB_ALGO_DIRECT,
    .check = direct_check,
    .predict = direct_predict,
    .candidates = direct_candidates,
    .relaxed = iob_direct_relaxed,
};
