/* host_counters.c - the metric table of iob_counters (names as Nsight Compute and the CUPTI Range
 * Profiler spell them on GH100, ../shared/device/NOTES.md) and its public accessors. */
#include "gpu/host_counters.h"

#include <stddef.h>

#define M(name, field, kind) {name, offsetof(iob_counters, field), kind}
const iob_metric iob_metrics[IOB_NMETRICS] = {
    M("dram__bytes_read.sum", dram_read_bytes, IOB_METRIC_BYTES),
    M("dram__bytes_write.sum", dram_write_bytes, IOB_METRIC_BYTES),
    M("lts__t_sectors_srcunit_tex_op_read.sum", l2_read_sectors, IOB_METRIC_COUNT),
    M("lts__t_sectors_srcunit_tex_op_write.sum", l2_write_sectors, IOB_METRIC_COUNT),
    M("l1tex__t_bytes_pipe_lsu_mem_global_op_ld.sum", l1_global_load_bytes, IOB_METRIC_BYTES),
    M("sm__sass_data_bytes_mem_shared.sum", smem_bytes, IOB_METRIC_BYTES),
    M("sm__sass_thread_inst_executed_op_ffma_pred_on.sum", ffma, IOB_METRIC_COUNT),
    M("gpu__time_duration.sum", duration_ns, IOB_METRIC_TIME_NS),
    M("l1tex__m_xbar2l1tex_read_sectors.sum", sm_read_sectors, IOB_METRIC_COUNT),
};
#undef M

double *iob_counters_at(iob_counters *c, int i)
{
    return (double *)((char *)c + iob_metrics[i].offset);
}

void iob_counters_add(iob_counters *sum, const iob_counters *c)
{
    for (int i = 0; i < IOB_NMETRICS; i++)
        *iob_counters_at(sum, i) += *iob_counters_at((iob_counters *)c, i);
}

int iob_counter_metric_count(void) { return IOB_NMETRICS; }

const char *iob_counter_metric_name(int i)
{
    return i >= 0 && i < IOB_NMETRICS ? iob_metrics[i].name : NULL;
}
