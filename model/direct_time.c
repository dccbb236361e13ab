/* direct_time.c - the time model of the direct kernel (docs/model.md, "Time model"): an SM runs
 * its blocks in waves of `resident` at a time; a block walks its chunks, each a pipeline stage
 * whose instructions issue at `ipc` warp instructions per cycle and whose copies land `latency`
 * cycles after they are issued; the L2 and DRAM move the run's bytes at their bandwidths.
 *
 *   ipc'   = min(ipc, b * warps * ipc_warp)             few resident warps issue less
 *   C      = max(warps * instr_stage / ipc', wavefronts_stage) * b / b   one stage of one block
 *            (issue, or the shared-memory wavefronts at one per cycle)
 *   fetch  = latency + stage_l2_bytes / (l2_bw / SMs / clock)   a stage's copies, start to end
 *   period = max(b * C, C + fetch)            stages = 1   (b blocks resident: a stage of each)
 *          = max(b * C, C, fetch / (stages - 1))    stages > 1
 *   wave   = chunks * period + (stages > 1 ? fetch : 0)
 *          + b * max(warps * instr_block / ipc, wavefronts_block)
 *   t_issue = ceil(blocks_per_sm_total / b) * wave / clock
 *   time   = max(t_issue, l2_bytes / l2_bw + l2_partial_bytes / l2_partial_bw, dram_bytes / dram_bw)
 *          + max(reduce_l2_bytes / l2_bw, reduce_dram_bytes / dram_bw) + launch * kernels
 * (the split reduction runs after the main kernel, bound by its traffic).
 *
 * The constants (ipc, latency, l2_bw, launch) are fitted by least squares on the logarithm of
 * the measured times of the first direct kernel on the H100 (bench/bench_direct_timefit.c,
 * docs/results/device/validate-direct-v1.csv): the fit and its residuals are in docs/model.md.
 */
#include <math.h>

#include "model/direct_model.h"

/* Fitted on the H100 (bench/bench_direct_timefit.c; docs/model.md, "Time model"). */
const iob_direct_time_consts iob_direct_time_h100 = {
    .ipc = 2.388,
    /* a prior, not identifiable from the v1 runs (all had 6 or more resident warps an SM): a warp
     * issues every other cycle (FFMA chains and LDS latency); 8 warps reach the SM's rate, the
     * count below which the v1 model already saw issue stall */
    .ipc_warp = 0.5,
    .latency = 2110.0,
    /* not identifiable from the v1 runs (their L2 traffic was 8x partial writes); Chips and
     * Cheese measured 5.5 TB/s of L2 reads on an H100 PCIe (114 SMs): "Nvidia's H100: Funny L2,
     * and Tons of Bandwidth", 2023 */
    .l2_bw = 5.5e12,
    .l2_partial_bw = 1.87e12,
    .launch = 6.88e-6,
};

double iob_direct_time_eval(const iob_direct_time_features *f, const iob_direct_time_consts *k,
                            const iob_machine *m, iob_direct_time_parts *parts)
{
    double clock = m->smem_bw_per_sm / 128.0;
    double b = f->resident < 1 ? 1 : f->resident;
    double ipc = fmin(k->ipc, b * f->warps * k->ipc_warp);
    double c = fmax(f->warps * f->instr_stage / ipc, f->wavefronts_stage);
    /* a stage's copies stream at the SM's share of the L2 bandwidth behind their latency */
    double fetch = k->latency + f->stage_l2_bytes * m->sm_count / k->l2_bw * clock;
    double period = f->stages <= 1 ? fmax(b * c, c + fetch)
                                   : fmax(fmax(b * c, c), fetch / (f->stages - 1));
    double wave = f->chunks * period + (f->stages > 1 ? fetch : 0) +
                  b * fmax(f->warps * f->instr_block / ipc, f->wavefronts_block);
    double waves = ceil(f->per_sm_blocks / b - 1e-9);
    iob_direct_time_parts p;
    p.issue_s = waves * wave / clock;
    /* the share of a stage's period the SM spends waiting rather than issuing */
    p.latency_share = period > 0 ? 1 - fmin(1, b * c / period) : 0;
    p.l2_s = f->l2_bytes / k->l2_bw + f->l2_partial_bytes / k->l2_partial_bw;
    p.dram_s = f->dram_bytes / iob_machine_dram_bw(m);
    p.reduce_s = fmax(f->reduce_l2_bytes / k->l2_bw, f->reduce_dram_bytes / iob_machine_dram_bw(m));
    p.time_s = fmax(p.issue_s, fmax(p.l2_s, p.dram_s)) + p.reduce_s + k->launch * f->kernels;
    if (parts)
        *parts = p;
    return p.time_s;
}
