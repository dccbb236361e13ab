/* cuda_device.c - the present GPU: availability, its properties as an iob_machine, the process's
 * context (stream, L2 flush buffer), checked device allocations and the sticky-error state.
 *
 * Only the CUDA runtime is linked (it loads the driver when first called), so the binary starts
 * on machines without a driver; the few driver entry points used (cuCtxGetCurrent for CUPTI,
 * cuKernelGetFunction/cuLaunchKernel as a launch fallback) are fetched with
 * cudaGetDriverEntryPointByVersion.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gpu/cuda_internal.h"

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static iob_gpu_ctx the_ctx;
static int ctx_ready;
static int sticky;
static char sticky_msg[IOB_ERROR_MSG_MAX];

int iob_gpu_built(void) { return 1; }

iob_status iob_gpu_available(iob_error *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return iob_error_set(err, IOB_ENODEV, "no CUDA device: %s", cudaGetErrorString(e));
    }
    if (n < 1)
        return iob_error_set(err, IOB_ENODEV, "no CUDA device: the driver reports none");
    return IOB_OK;
}

/* Errors after which "any further CUDA work will return the same error" (CUDA Runtime API,
 * cudaError enum): the process must be restarted. */
static int is_sticky(cudaError_t e)
{
    switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
    case cudaErrorContained:
    case cudaErrorTensorMemoryLeak:
        return 1;
    default:
        return 0;
    }
}

iob_status iob_cuda_fail(cudaError_t e, const char *what, iob_error *err)
{
    if (is_sticky(e)) {
        pthread_mutex_lock(&ctx_lock);
        if (!sticky) {
            sticky = 1;
            snprintf(sticky_msg, sizeof sticky_msg, "sticky error: %s: %s: %s; the CUDA context "
                     "is unusable, restart the process", what, cudaGetErrorName(e),
                     cudaGetErrorString(e));
        }
        pthread_mutex_unlock(&ctx_lock);
        return iob_error_set(err, IOB_EGPU, "%s", sticky_msg);
    }
    cudaGetLastError(); /* clear a non-sticky error so that the next call does not see it */
    return iob_error_set(err, IOB_EGPU, "%s: %s: %s", what, cudaGetErrorName(e),
                         cudaGetErrorString(e));
}

void *iob_driver_entry(const char *symbol)
{
    void *fn = NULL;
    enum cudaDriverEntryPointQueryResult q;
    if (cudaGetDriverEntryPointByVersion(symbol, &fn, 12000, cudaEnableDefault, &q) !=
            cudaSuccess || q != cudaDriverEntryPointSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return fn;
}

static iob_status ctx_init(iob_error *err)
{
    iob_gpu_ctx *c = &the_ctx;
    memset(c, 0, sizeof *c);
    iob_status st = iob_gpu_available(err);
    if (st)
        return st;
    IOB_CUDA_TRY(cudaGetDevice(&c->dev), "cudaGetDevice");
    IOB_CUDA_TRY(cudaGetDeviceProperties(&c->prop, c->dev), "cudaGetDeviceProperties");
    c->arch = 10 * c->prop.major + c->prop.minor;
    IOB_CUDA_TRY(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking),
                 "cudaStreamCreate");
    /* a read of twice the L2 evicts every line of it (NOTES.md: flush by reading) */
    c->flush_bytes = 2 * (size_t)(c->prop.l2CacheSize > 0 ? c->prop.l2CacheSize : 64 << 20);
    if ((st = iob_dev_alloc(&c->flush_buf, c->flush_bytes, "the L2 flush buffer", err)) ||
        (st = iob_dev_alloc((void **)&c->sink, 256, "the L2 flush sink", err)))
        return st;
    IOB_CUDA_TRY(cudaMemset(c->flush_buf, 0, c->flush_bytes), "cudaMemset(flush buffer)");
    IOB_CUDA_TRY(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    iob_launch *l = &c->flush_launch;
    strcpy(l->file, "flush.cu");
    strcpy(l->entry, "iob_l2_flush");
    l->grid[0] = 4 * (uint32_t)c->prop.multiProcessorCount;
    l->grid[1] = l->grid[2] = 1;
    l->block[0] = 256;
    l->block[1] = l->block[2] = 1;
    l->nargs = 3;
    /* WORK0 = the buffer, WORK1 = the sink (see iob_gpu_flush) */
    l->args[0] = (iob_kernel_arg){.kind = IOB_ARG_BUF, .buf = IOB_BUF_WORK0};
    l->args[1] = (iob_kernel_arg){.kind = IOB_ARG_I64, .i64 = (int64_t)(c->flush_bytes / 16)};
    l->args[2] = (iob_kernel_arg){.kind = IOB_ARG_BUF, .buf = IOB_BUF_WORK1};
    ctx_ready = 1; /* iob_jit_kernel below needs the context */
    iob_compile_info info;
    st = iob_jit_kernel_pinned(l, &c->flush_kernel, &info, err);
    if (st)
        ctx_ready = 0;
    return st;
}

iob_status iob_gpu_ctx_get(iob_gpu_ctx **ctx, iob_error *err)
{
    pthread_mutex_lock(&ctx_lock);
    int s = sticky, ready = ctx_ready;
    pthread_mutex_unlock(&ctx_lock);
    if (s)
        return iob_error_set(err, IOB_EGPU, "%s", sticky_msg);
    if (!ready) {
        /* one GPU user per process at a time (the CLI, a test, a sweep worker) */
        iob_status st = ctx_init(err);
        if (st)
            return st;
    }
    *ctx = &the_ctx;
    return IOB_OK;
}

iob_status iob_dev_alloc(void **p, size_t bytes, const char *what, iob_error *err)
{
    *p = NULL;
    if (!bytes)
        return IOB_OK;
    size_t free_b = 0, total_b = 0;
    IOB_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    const size_t margin = (size_t)64 << 20;
    if (bytes + margin > free_b)
        return iob_error_set(err, IOB_ENOMEM, "%s needs %.1f MB of device memory, %.1f MB free "
                             "(of %.1f MB)", what, bytes / 1e6, free_b / 1e6, total_b / 1e6);
    cudaError_t e = cudaMalloc(p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        *p = NULL;
        return iob_error_set(err, IOB_ENOMEM, "%s: cudaMalloc of %.1f MB failed", what,
                             bytes / 1e6);
    }
    if (e != cudaSuccess) {
        *p = NULL;
        return iob_cuda_fail(e, what, err);
    }
    return IOB_OK;
}

iob_status iob_dev_alloc_sectors(void **p, size_t bytes, const char *what, iob_error *err)
{
    /* Kernels copy whole 16-byte pieces of 32-byte sectors (docs/gpu.md, "For kernel writers"):
     * the tensor's last sector is allocated whole and its tail zeroed, so such a copy never
     * leaves the allocation (compute-sanitizer memcheck flagged an 8-byte overrun of a
     * 2520-byte input on the H100, 2026-11-23). */
    size_t whole = (bytes + 31) & ~(size_t)31;
    iob_status st = iob_dev_alloc(p, whole, what, err);
    if (st || whole == bytes || !*p)
        return st;
    IOB_CUDA_TRY(cudaMemset((char *)*p + bytes, 0, whole - bytes), "cudaMemset(sector tail)");
    return IOB_OK;
}

void iob_dev_free(void *p)
{
    if (p)
        cudaFree(p);
}

iob_status iob_gpu_flush(cudaStream_t s, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    void *bufs[6] = {0};
    bufs[IOB_BUF_WORK0] = c->flush_buf;
    bufs[IOB_BUF_WORK1] = c->sink;
    return iob_jit_launch(&c->flush_launch, c->flush_kernel, bufs, s, err);
}

/* Presets whose bandwidth and FP32 rate describe the device, matched by name and SM count. */
static const char *preset_for(const struct cudaDeviceProp *p)
{
    if (strstr(p->name, "H100") && p->multiProcessorCount == 132)
        return "h100-sxm";
    if (strstr(p->name, "H200"))
        return "h200";
    if (strstr(p->name, "A100") && p->multiProcessorCount == 108)
        return "a100-sxm";
    if (strstr(p->name, "V100"))
        return "v100";
    return NULL;
}

iob_status iob_machine_query_device(iob_machine *m, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    const struct cudaDeviceProp *p = &c->prop;
    memset(m, 0, sizeof *m);
    const char *preset = preset_for(p);
    if (preset)
        iob_machine_get(preset, m, NULL);
    snprintf(m->name, sizeof m->name, "device");
    snprintf(m->description, sizeof m->description, "%.80s (sm_%d, present device%s%s)", p->name,
             c->arch, preset ? "; rates of preset " : "", preset ? preset : "");
    m->sm_count = p->multiProcessorCount;
    m->smem_per_sm = (int64_t)p->sharedMemPerMultiprocessor;
    m->smem_per_block = (int64_t)p->sharedMemPerBlockOptin;
    m->regs_per_sm = p->regsPerMultiprocessor;
    m->regs_per_thread_max = 255;
    m->regs_alloc_unit = 256;
    m->threads_per_sm_max = p->maxThreadsPerMultiProcessor;
    m->threads_per_block_max = p->maxThreadsPerBlock;
    m->blocks_per_sm_max = p->maxBlocksPerMultiProcessor;
    if (!m->l1_smem_bytes)
        m->l1_smem_bytes = m->smem_per_sm;
    m->l2_bytes = p->l2CacheSize;
    /* not queryable: two partitions from the A100 (cc 8.0) on, one before (model/machine.c) */
    m->l2_partitions = p->major >= 8 ? 2 : 1;
    m->l2_line_bytes = 128;
    m->sector_bytes = 32;
    m->cc_major = p->major;
    m->cc_minor = p->minor;
    return IOB_OK;
}
