/* fetch.c - the sectors the SMs really fetch from L2 for a config: the closed form's count plus
 * the sectors the H100 fetches twice (docs/counters.md, "The rule behind the SM-side count").
 *
 * A 16-byte cp.async moves half of a 32-byte sector into shared memory. The H100 fetches a
 * global sector once per 32-byte-aligned unit of shared memory it is copied into (Nsight Compute
 * source view, call 11), so when a copy plan puts the two halves of a sector into two units -
 * the sector's first half lands at a shared address 16 mod 32 bytes - the sector crosses the
 * crossbar twice. Zero-fill copies (src-size 0) fetch nothing. The closed forms (model/direct.c,
 * model/band.c) count each needed sector once per copy instruction, which the copy plans
 * guarantee; this file adds the split sectors by walking the plans row by row (one evaluation
 * per patch row, transform run or filter slice, not per lane): O(blocks x stages x rows), for
 * one config at a time (validation, measurement), not for enumerations.
 *
 * For a run of 16-byte pieces whose first piece is global piece P0 (P0 = global float index / 4)
 * and lands at shared word w0 (a multiple of 4), the halves of sector j (global pieces 2j and
 * 2j + 1) share a unit iff w0/4 + (2j - P0) is even: all full sectors of the run are split, or
 * none, by the parity of w0/4 + P0. A sector counts when both its halves are read.
 */
#include <stdlib.h>
#include <string.h>

#include "model/band_model.h"
#include "model/direct_model.h"

/* floor(a / 2) and ceil(a / 2) for any sign */
static int64_t floor2(int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }
static int64_t ceil2(int64_t a) { return -floor2(-a); }

/* Sectors whose two halves (global pieces 2j and 2j + 1) both lie in the pieces [a, b]. */
static int64_t both_halves(int64_t a, int64_t b)
{
    if (b < a)
        return 0;
    int64_t n = floor2(b - 1) - ceil2(a) + 1;
    return n > 0 ? n : 0;
}

/* The run's full sectors when the parity rule splits them, else 0. */
static int64_t split_run(int64_t first_word, int64_t p0, int64_t a, int64_t b)
{
    int64_t parity = (first_word / 4 + p0) % 2;
    return parity != 0 ? both_halves(a, b) : 0;
}

/* floor(a / 4) for any sign */
static int64_t floor4(int64_t a) { return a >= 0 ? a / 4 : -((-a + 3) / 4); }

int64_t iob_direct_split_sectors(const iob_layer *L, const iob_config *cfg)
{
    iob_direct_geom g;
    iob_direct_geom_get(L, cfg, &g);
    dm_geom G;
    iob_direct_map_fill(L, cfg, &g, &G);
    const int rows = G.tile_c * G.tile_n * G.ih;
    int64_t total = 0;
    for (int64_t bz = 0; bz < g.grid[2]; bz++)
        for (int64_t by = 0; by < g.grid[1]; by++)
            for (int64_t bx = 0; bx < g.grid[0]; bx++) {
                dm_block B = dm_block_at(&G, (int)bx, (int)by, (int)bz);
                const int lo = B.w0 > 0 ? B.w0 : 0;
                const int hi = B.w0 + B.iw_v < G.w ? B.w0 + B.iw_v : G.w;
                for (int i = 0; i < B.nch; i++) {
                    const int chunk = B.ch_first + i;
                    const int64_t stage = cfg->stages > 1 ? (int64_t)(i % cfg->stages) *
                                                                g.stage_floats
                                                          : 0;
                    /* input: each patch row's read pieces (direct_map.cuh, dm_in_copy_at) */
                    for (int row = 0; row < rows && lo < hi; row++) {
                        int cc, n, h, y;
                        dm_index gw = dm_in_row(&G, &B, chunk, row, &cc, &n, &h, &y);
                        if (!dm_in_row_valid(&G, &B, cc, n, h, y))
                            continue;
                        int d4 = dm_in_shift(&G, gw);
                        int64_t base = (int64_t)B.w0 - d4; /* image column of piece 0 */
                        int64_t ka = floor4(lo - base), kb = -floor4(-(hi - base)) - 1;
                        if (ka < 0)
                            ka = 0;
                        if (kb > G.in_pieces - 1)
                            kb = G.in_pieces - 1;
                        int64_t p0 = floor4((int64_t)gw - d4);
                        total += split_run(stage + (int64_t)row * G.pitch, p0, p0 + ka, p0 + kb);
                    }
                    /* filter: one slice of f_pieces pieces from dm_f_base, at f_off */
                    int64_t fp0 = floor4((int64_t)dm_f_base(&G, &B, chunk));
                    total += split_run(stage + G.f_off, fp0, fp0, fp0 + G.f_pieces - 1);
                }
            }
    return total;
}

iob_status iob_band_split_sectors(const iob_band_algo *a, const iob_layer *L,
                                  const iob_config *cfg, const iob_machine *m, int64_t *split,
                                  iob_error *err)
{
    *split = 0;
    iob_band_setup s;
    iob_status st = iob_band_setup_get(a, L, cfg, m, &s, err);
    if (st)
        return st;
    /* the transform: block b copies one run from B.src, its piece at (src & ~7) + 4e landing
     * at shared word (src & ~7) + 4e - (src & ~3) (band_map.cuh, bm_copy) */
    int64_t total = 0;
    for (long long b = 0; b < s.g.blocks; b++) {
        bm_block B = bm_block_at(&s.g.map, b);
        if (!B.len)
            continue;
        int64_t p0 = B.src / 4, p1 = (B.src + B.len - 1) / 4;
        total += split_run(0, p0, p0, p1); /* piece p0 lands at word 0 */
    }
    /* then the direct kernel on the derived layer */
    *split = total + iob_direct_split_sectors(&s.derived, &s.dcfg);
    return IOB_OK;
}
