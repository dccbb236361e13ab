/* bench_direct_copies.c - the direct kernel's copy instructions as its own map lays them out
 * (gpu/kernels/direct_map.cuh): per warp instruction of a stage's cp.async copies, the distinct
 * 32-byte sectors it touches, summed, against the sectors of the stage deduplicated (what the
 * model counts). Nsight Compute's l1tex__t_sectors_pipe_lsu_mem_global_op_ld and
 * sm__sass_inst_executed_op_ldgsts measure the same two quantities on the GPU (docs/counters.md,
 * "Where the direct model misses"). No GPU needed.
 *
 *   bench_direct_copies LAYER_SPEC CONFIG [BLOCKS]
 *
 * BLOCKS: the first blocks of the grid in launch order (default all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/dataflow.h"
#include "model/direct_model.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long distinct(long long *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_ll);
    long long d = 1;
    for (size_t i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    return d;
}

/* Sectors one warp instruction of 16-byte copies fetches under the rule the H100's counters
 * show (docs/counters.md, "Where the direct model misses"): a global sector is fetched once per
 * 32-byte-aligned unit of shared memory its bytes go to, so a sector whose two halves land in
 * two shared units (its shared-memory address 16 mod 32 bytes) is fetched twice. Counts the
 * distinct (global sector, shared unit) pairs of the lanes. */
static long long pair_sectors(const int *word, const long long *sec0, const long long *sec1,
                              int n)
{
    long long v[64];
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        /* lane i's 16 bytes: words word[i] .. word[i] + 3, one shared unit */
        long long unit = word[i] / 8;
        v[k++] = sec0[i] * 4096 + unit % 4096;
        if (sec1[i] != sec0[i])
            v[k++] = sec1[i] * 4096 + unit % 4096;
    }
    return distinct(v, k);
}

/* Adds the sectors of one 16-byte copy of `bytes` bytes at byte address a (tagged by `tag` so
 * that the input and the filter never collide) to v. */
static size_t add_copy(long long *v, size_t n, long long tag, long long a, int bytes)
{
    v[n++] = tag + a / 32;
    if (bytes > 0 && (a + bytes - 1) / 32 != a / 32)
        v[n++] = tag + (a + bytes - 1) / 32;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_direct_copies LAYER_SPEC CONFIG [BLOCKS]\n");
        return 2;
    }
    iob_error err = {0};
    iob_layer L;
    iob_config c;
    iob_machine m;
    iob_resources res = {0};
    if (iob_layer_parse(argv[1], &L, &err) || iob_config_parse(argv[2], &c, &err) ||
        iob_machine_get("h100-sxm", &m, &err) ||
        iob_dataflow_check(&L, &c, &m, &res, &err)) {
        fprintf(stderr, "bench_direct_copies: %s\n", err.msg);
        return 2;
    }
    if (c.algo != IOB_ALGO_DIRECT) {
        fprintf(stderr, "bench_direct_copies: a direct config is needed\n");
        return 2;
    }
    long long max_blocks = argc > 3 ? atoll(argv[3]) : -1;
    iob_direct_geom g;
    iob_direct_geom_get(&L, &c, &g);
    dm_geom G;
    iob_direct_map_fill(&L, &c, &g, &G);
    const int ct = g.copy_threads;
    const int nin = G.tile_c * G.tile_n * G.ih * G.in_slots, nf = g.f_slots;
    long long *stage = malloc(sizeof(long long) * 2 * (size_t)(nin + nf));
    long long warp[64], inst = 0, inst_sectors = 0, stage_sectors = 0, zero = 0, blocks = 0;
    long long pair_sum = 0;
    int lane_word[32];
    long long lane_s0[32], lane_s1[32];
    const long long ftag = 1LL << 50;
    if (!stage) {
        fprintf(stderr, "bench_direct_copies: out of memory\n");
        return 1;
    }
    for (int bz = 0; bz < g.grid[2]; bz++)
        for (int by = 0; by < g.grid[1]; by++)
            for (int bx = 0; bx < g.grid[0]; bx++) {
                if (max_blocks >= 0 && blocks >= max_blocks)
                    goto done;
                blocks++;
                dm_block B = dm_block_at(&G, bx, by, bz);
                for (int ch = B.ch_first; ch < B.ch_first + B.nch; ch++) {
                    size_t ns = 0;
                    /* slot e goes to thread e % ct in iteration e / ct (direct.cu, load_stage) */
                    for (int pass = 0; pass < 2; pass++) {
                        int nslots = pass ? nf : nin;
                        for (int base = 0; base < nslots; base += ct)
                            for (int w = 0; w * 32 < ct; w++) {
                                size_t n = 0;
                                int nl = 0;
                                const int stage_base =
                                    c.stages > 1 ? (ch - B.ch_first) % c.stages *
                                                       (int)g.stage_floats
                                                 : 0;
                                for (int l = 0; l < 32 && w * 32 + l < ct; l++) {
                                    int e = base + w * 32 + l;
                                    if (e >= nslots)
                                        break;
                                    dm_copy cp = pass ? dm_f_copy(&G, &B, ch, e)
                                                      : dm_in_copy(&G, &B, ch, e);
                                    if (!cp.issue)
                                        continue;
                                    zero += !pass && !cp.bytes;
                                    long long a = pass || cp.bytes ? (long long)cp.src * 4 : 0;
                                    int bytes = pass ? 16 : cp.bytes;
                                    size_t n0 = n;
                                    n = add_copy(warp, n, pass ? ftag : 0, a, bytes);
                                    for (size_t i = n0; i < n; i++)
                                        stage[ns++] = warp[i];
                                    if (pass || cp.bytes) { /* a zero-fill reads nothing */
                                        lane_word[nl] = stage_base + cp.smem;
                                        lane_s0[nl] = warp[n0];
                                        lane_s1[nl] = warp[n - 1];
                                        nl++;
                                    }
                                }
                                if (n) {
                                    inst++;
                                    inst_sectors += distinct(warp, n);
                                    pair_sum += pair_sectors(lane_word, lane_s0, lane_s1, nl);
                                }
                            }
                    }
                    stage_sectors += distinct(stage, ns);
                }
            }
done:
    printf("blocks %lld (grid %lld x %lld x %lld), threads %d, copy threads %d, input slots per "
           "row %d\n",
           blocks, (long long)g.grid[0], (long long)g.grid[1], (long long)g.grid[2], g.threads,
           ct, G.in_slots);
    printf("copy instructions %lld; sectors summed over instructions %lld (%.2f per "
           "instruction); sectors per stage, deduplicated %lld; zero-byte copies %lld\n",
           inst, inst_sectors, inst ? (double)inst_sectors / (double)inst : 0.0, stage_sectors,
           zero);
    printf("fetched under the shared-unit rule: %lld sectors (%.2f per instruction, %.3f x the "
           "model)\n",
           pair_sum, inst ? (double)pair_sum / (double)inst : 0.0,
           stage_sectors ? (double)pair_sum / (double)stage_sectors : 0.0);
    free(stage);
    return 0;
}
