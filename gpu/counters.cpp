/* counters.cpp - hardware counters of each kernel a step launches, through the CUPTI Range
 * Profiler (cupti_range_profiler.h, with the host API cupti_profiler_host.h, which needs C++: it
 * includes <string>). The only C++ file of iobound; its interface is the extern "C"
 * iob_cupti_measure_step of gpu/cuda_internal.h.
 *
 * Mode: AutoRange (one range per kernel launch) with UserReplay (we run the passes ourselves):
 *   per pass:  before()  -- unprofiled: the output poisoned, the steps before this one, the L2
 *                           flushed by reading 2 x L2 (outside any range)
 *              Start; step(); Stop    -- every kernel of the step is one range
 *   until cuptiRangeProfilerStop reports all passes submitted; then decode, and evaluate the
 *   metrics of host_counters.c per range with cuptiProfilerHostEvaluateToGpuValues.
 * UserReplay (rather than KernelReplay) keeps the L2 flush in our hands for every pass: with
 * kernel replay CUPTI restores memory between passes itself and the L2 state seen by later passes
 * is not ours to control. A step must therefore give the same kernels on every pass (ours do: a
 * run is a function of the inputs; cuDNN's forward call with a fixed algorithm too).
 *
 * The CUDA context is fetched with cuCtxGetCurrent through cudaGetDriverEntryPointByVersion: the
 * binary links only the runtime (libcupti loads the driver itself).
 */
#include <cuda.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_result.h>
#include <cupti_target.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "gpu/cuda_internal.h"
#include "gpu/host_counters.h"

namespace {

/* Ranges one step may produce (kernels per step: ours 1, cuDNN's a handful). */
constexpr size_t kMaxRanges = 64;
/* A metric set needs a few passes on GH100 (NOTES.md: DRAM + L2 + time + one L1 metric fit in
 * one); more than this means something is wrong. */
constexpr int kMaxPasses = 64;

template <class T> T params(size_t size)
{
    T t{};
    t.structSize = size;
    return t;
}

iob_status cupti_fail(CUptiResult r, const char *what, iob_error *err)
{
    const char *s = nullptr;
    cuptiGetResultString(r, &s);
    const char *hint = r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES
                           ? " (profiling is restricted to administrators on this machine; "
                             "see docs/gpu.md or use --via ncu)"
                           : "";
    return iob_error_set(err, IOB_EGPU, "CUPTI %s: %s%s", what, s ? s : "error", hint);
}

#define CUPTI_TRY(call, what)                                                                 \
    do {                                                                                      \
        CUptiResult r_ = (call);                                                              \
        if (r_ != CUPTI_SUCCESS)                                                              \
            return cupti_fail(r_, what, err);                                                 \
    } while (0)

struct Profiler {
    bool ready = false;
    CUcontext ctx = nullptr;
    CUpti_Profiler_Host_Object *host = nullptr;
    std::vector<uint8_t> config;
    std::vector<const char *> metrics;
    size_t passes = 0;
};

std::mutex lock;
Profiler prof;

typedef CUresult (*pfn_ctx_get_current)(CUcontext *);

iob_status setup(iob_error *err)
{
    if (prof.ready)
        return IOB_OK;
    iob_gpu_ctx *gc;
    iob_status st = iob_gpu_ctx_get(&gc, err);
    if (st)
        return st;
    cudaError_t ce = cudaFree(nullptr); /* makes the primary context current */
    if (ce != cudaSuccess)
        return iob_cuda_fail(ce, "cudaFree(0)", err);
    auto get_current = (pfn_ctx_get_current)iob_driver_entry("cuCtxGetCurrent");
    if (!get_current || get_current(&prof.ctx) != CUDA_SUCCESS || !prof.ctx)
        return iob_error_set(err, IOB_EGPU, "CUPTI: no current CUDA context (cuCtxGetCurrent)");
    auto init = params<CUpti_Profiler_Initialize_Params>(CUpti_Profiler_Initialize_Params_STRUCT_SIZE);
    CUPTI_TRY(cuptiProfilerInitialize(&init), "cuptiProfilerInitialize");
    auto chip = params<CUpti_Device_GetChipName_Params>(CUpti_Device_GetChipName_Params_STRUCT_SIZE);
    chip.deviceIndex = (size_t)gc->dev;
    CUPTI_TRY(cuptiDeviceGetChipName(&chip), "cuptiDeviceGetChipName");
    auto avail = params<CUpti_Profiler_GetCounterAvailability_Params>(
        CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE);
    avail.ctx = prof.ctx;
    CUPTI_TRY(cuptiProfilerGetCounterAvailability(&avail), "cuptiProfilerGetCounterAvailability");
    std::vector<uint8_t> image(avail.counterAvailabilityImageSize);
    avail.pCounterAvailabilityImage = image.data();
    CUPTI_TRY(cuptiProfilerGetCounterAvailability(&avail), "cuptiProfilerGetCounterAvailability");
    auto hi = params<CUpti_Profiler_Host_Initialize_Params>(
        CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE);
    hi.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    hi.pChipName = chip.pChipName;
    hi.pCounterAvailabilityImage = image.data();
    CUPTI_TRY(cuptiProfilerHostInitialize(&hi), "cuptiProfilerHostInitialize");
    prof.host = hi.pHostObject;
    prof.metrics.clear();
    for (int i = 0; i < IOB_NMETRICS; i++)
        prof.metrics.push_back(iob_metrics[i].name);
    auto add = params<CUpti_Profiler_Host_ConfigAddMetrics_Params>(
        CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE);
    add.pHostObject = prof.host;
    add.ppMetricNames = prof.metrics.data();
    add.numMetrics = prof.metrics.size();
    CUPTI_TRY(cuptiProfilerHostConfigAddMetrics(&add), "cuptiProfilerHostConfigAddMetrics");
    auto csize = params<CUpti_Profiler_Host_GetConfigImageSize_Params>(
        CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE);
    csize.pHostObject = prof.host;
    CUPTI_TRY(cuptiProfilerHostGetConfigImageSize(&csize), "cuptiProfilerHostGetConfigImageSize");
    prof.config.assign(csize.configImageSize, 0);
    auto cimg = params<CUpti_Profiler_Host_GetConfigImage_Params>(
        CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE);
    cimg.pHostObject = prof.host;
    cimg.configImageSize = prof.config.size();
    cimg.pConfigImage = prof.config.data();
    CUPTI_TRY(cuptiProfilerHostGetConfigImage(&cimg), "cuptiProfilerHostGetConfigImage");
    auto np = params<CUpti_Profiler_Host_GetNumOfPasses_Params>(
        CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE);
    np.configImageSize = prof.config.size();
    np.pConfigImage = prof.config.data();
    CUPTI_TRY(cuptiProfilerHostGetNumOfPasses(&np), "cuptiProfilerHostGetNumOfPasses");
    prof.passes = np.numOfPasses;
    prof.ready = true;
    return IOB_OK;
}

/* One profiling session around one step; the profiler object is enabled and disabled here so
 * that every step starts from a fresh counter-data image. */
iob_status session(CUpti_RangeProfiler_Object *rp, iob_cupti_fn before, iob_cupti_fn step,
                   void *ctx, iob_counters *out, int max, int *n, iob_error *err)
{
    auto sz = params<CUpti_RangeProfiler_GetCounterDataSize_Params>(
        CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE);
    sz.pRangeProfilerObject = rp;
    sz.pMetricNames = prof.metrics.data();
    sz.numMetrics = prof.metrics.size();
    sz.maxNumOfRanges = kMaxRanges;
    sz.maxNumRangeTreeNodes = (uint32_t)kMaxRanges;
    CUPTI_TRY(cuptiRangeProfilerGetCounterDataSize(&sz), "cuptiRangeProfilerGetCounterDataSize");
    std::vector<uint8_t> data(sz.counterDataSize, 0);
    auto di = params<CUpti_RangeProfiler_CounterDataImage_Initialize_Params>(
        CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE);
    di.pRangeProfilerObject = rp;
    di.counterDataSize = data.size();
    di.pCounterData = data.data();
    CUPTI_TRY(cuptiRangeProfilerCounterDataImageInitialize(&di),
              "cuptiRangeProfilerCounterDataImageInitialize");
    auto sc = params<CUpti_RangeProfiler_SetConfig_Params>(
        CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE);
    sc.pRangeProfilerObject = rp;
    sc.configSize = prof.config.size();
    sc.pConfig = prof.config.data();
    sc.counterDataImageSize = data.size();
    sc.pCounterDataImage = data.data();
    sc.range = CUPTI_AutoRange;
    sc.replayMode = CUPTI_UserReplay;
    sc.maxRangesPerPass = kMaxRanges;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    CUPTI_TRY(cuptiRangeProfilerSetConfig(&sc), "cuptiRangeProfilerSetConfig");
    bool all = false;
    iob_status st;
    for (int pass = 0; !all; pass++) {
        if (pass >= kMaxPasses)
            return iob_error_set(err, IOB_EGPU, "CUPTI: not all passes submitted after %d",
                                 kMaxPasses);
        if ((st = before(ctx, err)))
            return st;
        cudaError_t ce = cudaDeviceSynchronize();
        if (ce != cudaSuccess)
            return iob_cuda_fail(ce, "before a profiled step", err);
        auto start = params<CUpti_RangeProfiler_Start_Params>(
            CUpti_RangeProfiler_Start_Params_STRUCT_SIZE);
        start.pRangeProfilerObject = rp;
        CUPTI_TRY(cuptiRangeProfilerStart(&start), "cuptiRangeProfilerStart");
        st = step(ctx, err);
        ce = cudaDeviceSynchronize();
        auto stop = params<CUpti_RangeProfiler_Stop_Params>(
            CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE);
        stop.pRangeProfilerObject = rp;
        CUptiResult sr = cuptiRangeProfilerStop(&stop);
        if (st)
            return st;
        if (ce != cudaSuccess)
            return iob_cuda_fail(ce, "a profiled step", err);
        if (sr != CUPTI_SUCCESS)
            return cupti_fail(sr, "cuptiRangeProfilerStop", err);
        all = stop.isAllPassSubmitted != 0;
    }
    auto dec = params<CUpti_RangeProfiler_DecodeData_Params>(
        CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE);
    dec.pRangeProfilerObject = rp;
    CUPTI_TRY(cuptiRangeProfilerDecodeData(&dec), "cuptiRangeProfilerDecodeData");
    if (dec.numOfRangeDropped)
        return iob_error_set(err, IOB_EGPU, "CUPTI dropped %zu ranges (more than %zu kernels in "
                             "one step?)", dec.numOfRangeDropped, kMaxRanges);
    auto info = params<CUpti_RangeProfiler_GetCounterDataInfo_Params>(
        CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE);
    info.pCounterDataImage = data.data();
    info.counterDataImageSize = data.size();
    CUPTI_TRY(cuptiRangeProfilerGetCounterDataInfo(&info), "cuptiRangeProfilerGetCounterDataInfo");
    *n = (int)info.numTotalRanges;
    std::vector<double> values(prof.metrics.size());
    for (size_t r = 0; r < info.numTotalRanges && (int)r < max; r++) {
        iob_counters *c = &out[r];
        std::memset(c, 0, sizeof *c);
        auto ri = params<CUpti_RangeProfiler_CounterData_GetRangeInfo_Params>(
            CUpti_RangeProfiler_CounterData_GetRangeInfo_Params_STRUCT_SIZE);
        ri.pCounterDataImage = data.data();
        ri.counterDataImageSize = data.size();
        ri.rangeIndex = r;
        ri.rangeDelimiter = "/";
        if (cuptiRangeProfilerCounterDataGetRangeInfo(&ri) == CUPTI_SUCCESS && ri.rangeName)
            std::snprintf(c->kernel, sizeof c->kernel, "%s", ri.rangeName);
        auto ev = params<CUpti_Profiler_Host_EvaluateToGpuValues_Params>(
            CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE);
        ev.pHostObject = prof.host;
        ev.pCounterDataImage = data.data();
        ev.counterDataImageSize = data.size();
        ev.rangeIndex = r;
        ev.ppMetricNames = prof.metrics.data();
        ev.numMetrics = prof.metrics.size();
        ev.pMetricValues = values.data();
        CUPTI_TRY(cuptiProfilerHostEvaluateToGpuValues(&ev),
                  "cuptiProfilerHostEvaluateToGpuValues");
        for (int m = 0; m < IOB_NMETRICS; m++)
            *iob_counters_at(c, m) = values[(size_t)m];
    }
    return IOB_OK;
}

} // namespace

extern "C" iob_status iob_cupti_measure_step(iob_cupti_fn before, iob_cupti_fn step, void *ctx,
                                             iob_counters *out, int max, int *n, iob_error *err)
{
    *n = 0;
    std::lock_guard<std::mutex> guard(lock);
    iob_status st = setup(err);
    if (st)
        return st;
    auto en = params<CUpti_RangeProfiler_Enable_Params>(CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE);
    en.ctx = prof.ctx;
    CUPTI_TRY(cuptiRangeProfilerEnable(&en), "cuptiRangeProfilerEnable");
    st = session(en.pRangeProfilerObject, before, step, ctx, out, max, n, err);
    auto dis = params<CUpti_RangeProfiler_Disable_Params>(CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE);
    dis.pRangeProfilerObject = en.pRangeProfilerObject;
    CUptiResult r = cuptiRangeProfilerDisable(&dis);
    if (!st && r != CUPTI_SUCCESS)
        return cupti_fail(r, "cuptiRangeProfilerDisable", err);
    return st;
}
