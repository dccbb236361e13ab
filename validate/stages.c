/* stages.c - the default stages of a sweep: configs and predictions from the dataflow model,
 * the simulator (wired in here, and only here), and the GPU measurements that
 * the worker process runs (iob_gpu_run for time and correctness, iob_gpu_measure for counters,
 * iob_gpu_cudnn for the baselines).
 *
 * Counter -> level (DESIGN.md, "The model's vocabulary"; include/iobound/gpu.h):
 *   l2_read_bytes  = l1tex__m_xbar2l1tex_read_sectors.sum    x 32 (SM side: what the SMs
 *                    receive, what the model counts)
 *   l2_write_bytes = lts__t_sectors_srcunit_tex_op_write.sum x 32
 *   l2_read_slice_bytes = lts__t_sectors_srcunit_tex_op_read.sum x 32 (L2 side: requests of
 *                    several SMs to one sector may be merged; measured only, docs/counters.md)
 *   dram_*_bytes   = dram__bytes_read.sum / dram__bytes_write.sum
 *   smem_bytes     = sm__sass_data_bytes_mem_shared.sum
 *   ffma           = sm__sass_thread_inst_executed_op_ffma_pred_on.sum
 *   time_ms        = median of the timed runs (iob_gpu_run; CUDA events, L2 flushed)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/sim.h"
#include "iobound/validate.h"

/* bytes per L2 sector: the unit of the lts__t_sectors counters on every GPU since Volta */
#define SECTOR_BYTES 32.0

typedef struct ranked {
    iob_config cfg;
    double time_s;
    size_t index;
} ranked;

static int by_time(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->time_s != y->time_s)
        return x->time_s < y->time_s ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index; /* stable: enumeration order */
}

iob_status iob_validate_configs(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                iob_config_select sel, int top_n, iob_config **out,
                                size_t *count, iob_error *err)
{
    *out = NULL;
    *count = 0;
    if (sel == IOB_CFG_BEST) {
        iob_config *one = malloc(sizeof *one);
        if (!one)
            return iob_error_set(err, IOB_ENOMEM, "out of memory");
        iob_status st = iob_dataflow_best(L, algo, m, IOB_OBJ_TIME, one, NULL, err);
        if (st) {
            free(one);
            return st;
        }
        *out = one;
        *count = 1;
        return IOB_OK;
    }
    iob_config *all;
    size_t n;
    iob_status st = iob_dataflow_enumerate(L, algo, m, &all, &n, err);
    if (st || sel == IOB_CFG_ALL || n == 0) {
        *out = st ? NULL : all;
        *count = st ? 0 : n;
        if (st)
            free(all);
        return st;
    }
    /* top N by predicted time; a config the model cannot predict ranks last */
    ranked *rk = malloc(n * sizeof *rk);
    if (!rk) {
        free(all);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        iob_traffic t;
        rk[i].cfg = all[i];
        rk[i].index = i;
        rk[i].time_s = iob_dataflow_predict(L, &all[i], m, &t, NULL) ? INFINITY : t.time_s;
    }
    qsort(rk, n, sizeof *rk, by_time);
    size_t keep = top_n > 0 && (size_t)top_n < n ? (size_t)top_n : n;
    for (size_t i = 0; i < keep; i++)
        all[i] = rk[i].cfg;
    free(rk);
    *out = all;
    *count = keep;
    return IOB_OK;
}

iob_status iob_validate_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                double *levels, char *limiter, iob_error *err)
{
    iob_traffic t;
    iob_status st = iob_dataflow_predict(L, cfg, m, &t, err);
    if (st)
        return st;
    levels[IOB_LVL_L2_READ] = (double)t.l2_read_bytes;
    /* the SM side measures what the SMs fetch: where the algorithm has a fetch model, a sector
     * copied into two shared-memory units counts twice (docs/counters.md) */
    uint64_t split;
    if (iob_dataflow_split_sectors(L, cfg, m, &split, NULL) == IOB_OK)
        levels[IOB_LVL_L2_READ] = (double)(t.l2_read_sectors + split) * (double)m->sector_bytes;
    levels[IOB_LVL_L2_WRITE] = (double)t.l2_write_bytes;
    levels[IOB_LVL_DRAM_READ] = t.dram_read_bytes;
    levels[IOB_LVL_DRAM_WRITE] = t.dram_write_bytes;
    levels[IOB_LVL_SMEM] = (double)(t.smem_read_bytes + t.smem_write_bytes);
    levels[IOB_LVL_FFMA] = (double)t.ffma;
    levels[IOB_LVL_TIME] = t.time_s * 1e3;
    levels[IOB_LVL_L2_READ_SLICE] = NAN; /* the model has no L2 request coalescing */
    snprintf(limiter, 16, "%s", t.time_limiter ? t.time_limiter : "");
    return IOB_OK;
}

iob_status iob_validate_simulate(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 double *levels, iob_error *err)
{
    /* The config's trace through the machine's caches (sim/gpu_sim.c: L1 bypassed, the
     * machine's L2, LRU). IOB_ENOTSUP while the algorithm has no trace generator. DRAM writes
     * include the final flush of the dirty sectors (iob_sim_result.dram_write_flush_bytes is
     * the part a counter range ending with the kernel would not see). */
    iob_sim_result r;
    iob_status st = iob_sim_layer(L, cfg, m, NULL, &r, err);
    if (st)
        return st;
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        levels[l] = NAN;
    levels[IOB_LVL_L2_READ] = (double)r.l2_read_bytes;
    levels[IOB_LVL_L2_WRITE] = (double)r.l2_write_bytes;
    levels[IOB_LVL_DRAM_READ] = (double)r.dram_read_bytes;
    levels[IOB_LVL_DRAM_WRITE] = (double)r.dram_write_bytes;
    return IOB_OK;
}

iob_status iob_validate_gpu_probe(iob_machine *machine, iob_error *err)
{
    iob_status st = iob_gpu_available(err);
    if (st || !machine)
        return st;
    return iob_machine_query_device(machine, err);
}

iob_status iob_validate_measure(const iob_layer *L, const iob_config *cfg, const iob_run_opts *o,
                                iob_measurement *out, iob_error *err)
{
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        out->level[l] = NAN;
    out->max_rel_err = NAN;
    if (cfg) { /* time and correctness; cuDNN's time comes from iob_validate_cudnn */
        iob_run_result run;
        iob_status st = iob_gpu_run(L, cfg, o, &run, err);
        if (st)
            return st;
        out->level[IOB_LVL_TIME] = run.time_ms;
        out->max_rel_err = run.max_rel_err;
    }
    enum { MAXK = 8 };
    iob_counters per[MAXK], sum;
    int nk = 0;
    iob_status st = iob_gpu_measure(L, cfg, o, IOB_VIA_CUPTI, per, MAXK, &nk, &sum, err);
    if (st)
        return st;
    out->level[IOB_LVL_L2_READ] = sum.sm_read_sectors * SECTOR_BYTES;
    out->level[IOB_LVL_L2_READ_SLICE] = sum.l2_read_sectors * SECTOR_BYTES;
    out->level[IOB_LVL_L2_WRITE] = sum.l2_write_sectors * SECTOR_BYTES;
    out->level[IOB_LVL_DRAM_READ] = sum.dram_read_bytes;
    out->level[IOB_LVL_DRAM_WRITE] = sum.dram_write_bytes;
    out->level[IOB_LVL_SMEM] = sum.smem_bytes;
    out->level[IOB_LVL_FFMA] = sum.ffma;
    return IOB_OK;
}

iob_status iob_validate_cudnn(const iob_layer *L, const iob_run_opts *o, iob_cudnn_best *out,
                              iob_error *err)
{
    enum { MAXA = 64 };
    out->fp32_ms = out->tf32_ms = NAN;
    out->fp32_algo[0] = out->tf32_algo[0] = '\0';
    iob_cudnn_result *res = calloc(MAXA, sizeof *res);
    if (!res)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    int n = 0;
    iob_status st = iob_gpu_cudnn(L, o, res, MAXA, &n, err);
    for (int i = 0; !st && i < n; i++) {
        if (res[i].status != IOB_OK || !(res[i].time_ms > 0))
            continue;
        double *best = res[i].tf32 ? &out->tf32_ms : &out->fp32_ms;
        char *name = res[i].tf32 ? out->tf32_algo : out->fp32_algo;
        if (isnan(*best) || res[i].time_ms < *best) {
            *best = res[i].time_ms;
            snprintf(name, sizeof out->fp32_algo, "%s", res[i].algo);
        }
    }
    free(res);
    if (!st && isnan(out->fp32_ms))
        st = iob_error_set(err, IOB_EGPU, "no cuDNN FP32 algorithm ran for this layer");
    return st;
}
