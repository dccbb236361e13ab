/* cuda_emu.h - just enough of CUDA to run a kernel file of gpu/kernels/ on the CPU, one POSIX
 * thread per CUDA thread (tests only; included with `cc -include tests/cuda_emu.h
 * -DIOB_CUDA_EMU -x c gpu/kernels/<algo>.cu`, built as a shared object and loaded by the test).
 *
 * What it models, so that a kernel bug shows up as a wrong or poisoned output:
 *   - __syncthreads() is a barrier of the block's threads (pthread_barrier_t);
 *   - shared memory is filled with a NaN pattern before every block;
 *   - cp.async copies are held back until the cp.async.wait_group that must complete them
 *     (the latest moment the hardware may deliver them), so a missing wait reads stale data;
 *     a 4-byte copy with src-size 0 writes a zero and never reads its source; 16-byte copies
 *     must be 16-byte aligned; copies still pending when a thread ends are an error;
 *   - global accesses made through cp.async and the kernels' LDG/STG macros can be logged with
 *     the block and the cp.async commit group they belong to (iob_emu_log_*), so a test can
 *     compare the kernel's own accesses with a trace generator's;
 *   - __fmul_rn, __fadd_rn, __fsub_rn, __fmaf_rn and the FP64 ones are IEEE single/double
 *     operations (built with -ffp-contract=off), so results are bit-identical to the GPU's for
 *     kernels that use only these.
 * Blocks run one after another in launch order (x fastest); the threads of a block run at once.
 */
#ifndef IOB_TESTS_CUDA_EMU_H
#define IOB_TESTS_CUDA_EMU_H

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct iob_emu_dim3 {
    unsigned x, y, z;
} iob_emu_dim3;

static _Thread_local iob_emu_dim3 threadIdx;
static iob_emu_dim3 blockIdx, blockDim, gridDim; /* written between two barriers */
static float *iob_emu_smem;
static pthread_barrier_t iob_emu_barrier;
static int iob_emu_failed;
static char iob_emu_why[256];

#define IOB_KERNEL __attribute__((visibility("default")))
#define IOB_DEV static inline
#define IOB_STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#define IOB_DYN_SMEM(name) float *name = iob_emu_smem
#define IOB_RESTRICT restrict
#define __launch_bounds__(...)
#define __syncthreads() pthread_barrier_wait(&iob_emu_barrier)

/* ---- counted operations: per thread, added to the launch's totals when the thread ends ------- */
typedef struct iob_emu_counts {
    uint64_t lds_bytes, sts_bytes, cp_async_bytes; /* shared memory data bytes */
    uint64_t ffma, fmul, fadd;                     /* FP32 (FSUB counts as FADD) */
} iob_emu_counts;
static _Thread_local iob_emu_counts iob_emu_c;
static iob_emu_counts iob_emu_total;
static pthread_mutex_t iob_emu_countmu = PTHREAD_MUTEX_INITIALIZER;

/* The counts of the last iob_emu_run. */
IOB_KERNEL void iob_emu_counts_get(iob_emu_counts *out) { *out = iob_emu_total; }

#define FMUL(a, b) (iob_emu_c.fmul++, (float)(a) * (float)(b))
#define FADD(a, b) (iob_emu_c.fadd++, (float)(a) + (float)(b))
#define FSUB(a, b) (iob_emu_c.fadd++, (float)(a) - (float)(b))
#define FFMA(a, b, c) (iob_emu_c.ffma++, fmaf(a, b, c))
#define DMUL(a, b) ((double)(a) * (double)(b))
#define DADD(a, b) ((double)(a) + (double)(b))
#define SLD(p) (iob_emu_c.lds_bytes += 4, *(p))
#define SST(p, v) (iob_emu_c.sts_bytes += 4, *(p) = (v))
#define LDS4(dst, p)                                                                              \
    do {                                                                                          \
        iob_emu_c.lds_bytes += 16;                                                                \
        (dst)[0] = (p)[0]; (dst)[1] = (p)[1]; (dst)[2] = (p)[2]; (dst)[3] = (p)[3];               \
    } while (0)
#define LDS2(dst, p)                                                                              \
    do {                                                                                          \
        iob_emu_c.lds_bytes += 8;                                                                 \
        (dst)[0] = (p)[0]; (dst)[1] = (p)[1];                                                     \
    } while (0)
#define STS4(p, s)                                                                                \
    do {                                                                                          \
        iob_emu_c.sts_bytes += 16;                                                                \
        (p)[0] = (s)[0]; (p)[1] = (s)[1]; (p)[2] = (s)[2]; (p)[3] = (s)[3];                       \
    } while (0)
#define STS2(p, s)                                                                                \
    do {                                                                                          \
        iob_emu_c.sts_bytes += 8;                                                                 \
        (p)[0] = (s)[0]; (p)[1] = (s)[1];                                                         \
    } while (0)

/* ---- the access log ------------------------------------------------------------------------ */
typedef struct iob_emu_access {
    int launch;        /* the id given to iob_emu_log_start */
    uint64_t block;    /* x + gx * (y + gy * z) */
    unsigned stage;    /* cp.async: 1 + its commit group; LDG: 1; STG: 0 */
    int write;
    const void *addr;
} iob_emu_access;

static iob_emu_access *iob_emu_log;
static size_t iob_emu_logn, iob_emu_logcap;
static int iob_emu_log_launch = -1; /* -1: not logging */
static pthread_mutex_t iob_emu_logmu = PTHREAD_MUTEX_INITIALIZER;

/* Logs the following launches' accesses under the id `launch` (-1 stops logging). */
IOB_KERNEL void iob_emu_log_start(int launch) { iob_emu_log_launch = launch; }

/* The log so far (owned by the library; valid until the next launch or iob_emu_log_clear). */
IOB_KERNEL size_t iob_emu_log_get(const iob_emu_access **log)
{
    *log = iob_emu_log;
    return iob_emu_logn;
}

IOB_KERNEL void iob_emu_log_clear(void)
{
    free(iob_emu_log);
    iob_emu_log = NULL;
    iob_emu_logn = iob_emu_logcap = 0;
}

static void iob_emu_record(const void *addr, int write, unsigned stage)
{
    if (iob_emu_log_launch < 0)
        return;
    pthread_mutex_lock(&iob_emu_logmu);
    if (iob_emu_logn == iob_emu_logcap) {
        size_t cap = iob_emu_logcap ? 2 * iob_emu_logcap : 4096;
        iob_emu_access *l = realloc(iob_emu_log, cap * sizeof *l);
        if (!l)
            abort();
        iob_emu_log = l;
        iob_emu_logcap = cap;
    }
    iob_emu_log[iob_emu_logn++] = (iob_emu_access){
        iob_emu_log_launch,
        blockIdx.x + (uint64_t)gridDim.x * (blockIdx.y + (uint64_t)gridDim.y * blockIdx.z),
        stage, write, addr};
    pthread_mutex_unlock(&iob_emu_logmu);
}

static _Thread_local unsigned iob_emu_committed;

/* global loads and stores the kernels make through these macros are logged */
static inline float iob_emu_ldg(const float *p)
{
    iob_emu_record(p, 0, 1);
    return *p;
}
#define LDG(p) iob_emu_ldg(p)
#define STG(p, v)                                                                                 \
    do {                                                                                          \
        float *p_ = (p);                                                                          \
        iob_emu_record(p_, 1, 0);                                                                 \
        *p_ = (v);                                                                                \
    } while (0)

static void iob_emu_fail(const char *why)
{
    if (!__atomic_exchange_n(&iob_emu_failed, 1, __ATOMIC_SEQ_CST))
        snprintf(iob_emu_why, sizeof iob_emu_why, "%s (block %u,%u,%u thread %u)", why,
                 blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x);
}

/* ---- cp.async: a per-thread queue of copies tagged with their commit group ------------------ */
typedef struct iob_emu_copy {
    float *dst;
    const float *src; /* NULL: zero fill */
    int floats;
    unsigned group;
} iob_emu_copy;

static _Thread_local iob_emu_copy *iob_emu_q;
static _Thread_local size_t iob_emu_qn, iob_emu_qcap;

static void iob_emu_push(float *dst, const float *src, int floats)
{
    if (iob_emu_qn == iob_emu_qcap) {
        size_t cap = iob_emu_qcap ? 2 * iob_emu_qcap : 256;
        iob_emu_copy *q = realloc(iob_emu_q, cap * sizeof *q);
        if (!q) {
            iob_emu_fail("out of memory in the cp.async queue");
            return;
        }
        iob_emu_q = q;
        iob_emu_qcap = cap;
    }
    iob_emu_q[iob_emu_qn++] = (iob_emu_copy){dst, src, floats, iob_emu_committed};
}

static inline void cp_async4(float *dst, const float *src, int src_bytes)
{
    if (src_bytes != 0 && src_bytes != 4)
        iob_emu_fail("cp.async 4: src-size must be 0 or 4");
    if (src_bytes)
        iob_emu_record(src, 0, iob_emu_committed + 1);
    iob_emu_c.cp_async_bytes += 4;
    iob_emu_push(dst, src_bytes ? src : NULL, 1);
}

static inline void cp_async16(float *dst, const float *src)
{
    if (((uintptr_t)dst | (uintptr_t)src) & 15)
        iob_emu_fail("cp.async 16: unaligned address");
    for (int i = 0; i < 4; i++)
        iob_emu_record(src + i, 0, iob_emu_committed + 1);
    iob_emu_c.cp_async_bytes += 16;
    iob_emu_push(dst, src, 4);
}

#define CP_ASYNC_COMMIT() (iob_emu_committed++)

/* cp.async.wait_group n: the groups older than the n most recent committed ones are complete. */
static inline void iob_emu_wait(unsigned n)
{
    size_t kept = 0;
    for (size_t i = 0; i < iob_emu_qn; i++) {
        iob_emu_copy *c = &iob_emu_q[i];
        if (c->group + n < iob_emu_committed) {
            for (int f = 0; f < c->floats; f++)
                c->dst[f] = c->src ? c->src[f] : 0.0f;
        } else {
            iob_emu_q[kept++] = *c;
        }
    }
    iob_emu_qn = kept;
}
#define CP_ASYNC_WAIT(n) iob_emu_wait(n)

/* ---- the launcher -------------------------------------------------------------------------- */
typedef void (*iob_emu_body)(void *ctx);

typedef struct iob_emu_launch {
    iob_emu_body body;
    void *ctx;
    unsigned grid[3], threads;
    size_t smem_bytes;
} iob_emu_launch;

typedef struct iob_emu_worker_arg {
    const iob_emu_launch *l;
    unsigned tid;
} iob_emu_worker_arg;

static void *iob_emu_worker(void *p)
{
    const iob_emu_worker_arg *a = p;
    const iob_emu_launch *l = a->l;
    threadIdx = (iob_emu_dim3){a->tid, 0, 0};
    for (unsigned z = 0; z < l->grid[2]; z++)
        for (unsigned y = 0; y < l->grid[1]; y++)
            for (unsigned x = 0; x < l->grid[0]; x++) {
                pthread_barrier_wait(&iob_emu_barrier);
                if (a->tid == 0) {
                    blockIdx = (iob_emu_dim3){x, y, z};
                    uint32_t nan = 0x7fc00bad; /* a quiet NaN: unwritten shared memory */
                    for (size_t i = 0; i < l->smem_bytes / 4; i++)
                        memcpy(&iob_emu_smem[i], &nan, 4);
                }
                pthread_barrier_wait(&iob_emu_barrier);
                iob_emu_committed = 0; /* a fresh thread of the next block */
                l->body(l->ctx);
                if (iob_emu_qn)
                    iob_emu_fail("cp.async copies still pending when the thread ended");
                iob_emu_qn = 0;
            }
    free(iob_emu_q);
    iob_emu_q = NULL;
    iob_emu_qn = iob_emu_qcap = 0;
    pthread_mutex_lock(&iob_emu_countmu);
    for (size_t f = 0; f < sizeof iob_emu_c / sizeof(uint64_t); f++)
        ((uint64_t *)&iob_emu_total)[f] += ((const uint64_t *)&iob_emu_c)[f];
    pthread_mutex_unlock(&iob_emu_countmu);
    memset(&iob_emu_c, 0, sizeof iob_emu_c);
    return NULL;
}

/* Runs body(ctx) as every thread of every block of a grid[0] x grid[1] x grid[2] launch of
 * `threads` threads with smem_bytes of dynamic shared memory. Returns 0, or -1 with the reason in
 * *why (valid until the next call). */
IOB_KERNEL int iob_emu_run(iob_emu_body body, void *ctx, const unsigned grid[3], unsigned threads,
                           size_t smem_bytes, const char **why)
{
    iob_emu_launch l = {body, ctx, {grid[0], grid[1], grid[2]}, threads, smem_bytes};
    iob_emu_failed = 0;
    iob_emu_why[0] = '\0';
    memset(&iob_emu_total, 0, sizeof iob_emu_total);
    *why = iob_emu_why;
    gridDim = (iob_emu_dim3){grid[0], grid[1], grid[2]};
    blockDim = (iob_emu_dim3){threads, 1, 1};
    iob_emu_smem = malloc(smem_bytes ? smem_bytes : 16);
    pthread_t *th = calloc(threads, sizeof *th);
    iob_emu_worker_arg *args = calloc(threads, sizeof *args);
    if (!iob_emu_smem || !th || !args || pthread_barrier_init(&iob_emu_barrier, NULL, threads)) {
        free(iob_emu_smem);
        free(th);
        free(args);
        snprintf(iob_emu_why, sizeof iob_emu_why, "cannot set up %u threads", threads);
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    unsigned started = 0;
    for (; started < threads; started++) {
        args[started] = (iob_emu_worker_arg){&l, started};
        if (pthread_create(&th[started], &attr, iob_emu_worker, &args[started]))
            break;
    }
    pthread_attr_destroy(&attr);
    if (started < threads) {
        /* cannot happen on a sane system; the started threads would wait forever */
        fprintf(stderr, "cuda_emu: pthread_create failed after %u threads\n", started);
        abort();
    }
    for (unsigned t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&iob_emu_barrier);
    free(iob_emu_smem);
    iob_emu_smem = NULL;
    free(th);
    free(args);
    return iob_emu_failed ? -1 : 0;
}

#endif
