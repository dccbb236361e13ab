/* cuda_jit.c - NVRTC compilation of the embedded kernels for a launch's macros, the on-disk cubin
 * cache (gpu/host_cache.c), loading through the runtime's library API and launching.
 *
 * Compilation: nvrtcCreateProgram with the launch's file as the program and every embedded *.cuh
 * as a named header, options --gpu-architecture=sm_XX -std=c++17 -lineinfo -DNDEBUG, the CUDA
 * include folder of the build (when present) and the launch's -D macros; the result is a cubin
 * for that exact architecture (no PTX JIT at load time).
 * Loading: cudaLibraryLoadData + cudaLibraryGetKernel (CUDA 12+ runtime), kept in a process-wide
 * table keyed by the cache key and the entry name. Launching: cudaLaunchKernel with the
 * cudaKernel_t cast to const void * (the runtime accepts a cudaKernel_t wherever it takes a
 * device function, CUDA Runtime API "note_cudaKernel_t"); should the runtime refuse it with
 * cudaErrorInvalidDeviceFunction, the driver's cuKernelGetFunction + cuLaunchKernel are used
 * through cudaGetDriverEntryPointByVersion.
 */
#include <cuda.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gpu/cuda_internal.h"
#include "gpu/host_cache.h"
#include "gpu/host_kernels.h"

#define MAX_OPTIONS 512

static _Thread_local char compile_log[16384];

const char *iob_gpu_compile_log(void) { return compile_log; }

iob_status iob_gpu_nvrtc_version(int *major, int *minor, iob_error *err)
{
    nvrtcResult r = nvrtcVersion(major, minor);
    if (r != NVRTC_SUCCESS)
        return iob_error_set(err, IOB_EGPU, "nvrtcVersion: %s", nvrtcGetErrorString(r));
    return IOB_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int is_header(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".cuh");
}

/* The option list of a launch: fixed options, include folders, then its macros split at blanks.
 * Strings live in `store` (at least strlen(defines) + 1024 bytes). Returns the count, or -1 when
 * the macros need more than MAX_OPTIONS options (none is dropped). */
static int build_options(const iob_launch *l, int arch, const char **opt, char *store,
                         size_t store_size)
{
    int n = 0;
    size_t used = 0;
#define ADD(...)                                                                              \
    do {                                                                                      \
        int w_ = snprintf(store + used, store_size - used, __VA_ARGS__);                      \
        opt[n++] = store + used;                                                              \
        used += (size_t)w_ + 1;                                                               \
    } while (0)
    ADD("--gpu-architecture=sm_%d", arch);
    ADD("-std=c++17");
    ADD("-lineinfo");
    ADD("-DNDEBUG");
#ifdef IOB_CUDA_INCLUDE_DIR
    /* toolkit headers (cuda_pipeline.h, cuda/barrier, ...) for kernels that include them */
    struct stat sb;
    if (!stat(IOB_CUDA_INCLUDE_DIR, &sb))
        ADD("--include-path=%s", IOB_CUDA_INCLUDE_DIR);
#endif
#undef ADD
    const char *p = l->defines;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (n == MAX_OPTIONS)
            return -1;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        size_t len = (size_t)(e - p);
        memcpy(store + used, p, len);
        store[used + len] = '\0';
        opt[n++] = store + used;
        used += len + 1;
        p = e;
    }
    return n;
}

/* The first line of the log that reports an error (NVRTC: "file(line): error: ..."). */
static void first_error_line(const char *log, char *buf, size_t size)
{
    const char *line = log, *pick = NULL;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (!pick && len && (strstr(line, "error") && (size_t)(strstr(line, "error") - line) < len))
            pick = line;
        if (!end)
            break;
        line = end + 1;
    }
    if (!pick)
        pick = log;
    size_t len = strcspn(pick, "\n");
    if (len >= size)
        len = size - 1;
    memcpy(buf, pick, len);
    buf[len] = '\0';
}

static iob_status nvrtc_compile(const iob_kernel_file *kf, const char **opt, int nopt,
                                void **cubin, size_t *size, iob_error *err)
{
    const char *hsrc[64], *hname[64];
    int nh = 0;
    for (int i = 0; i < iob_kernel_file_count && nh < 64; i++)
        if (is_header(iob_kernel_files[i].name)) {
            hsrc[nh] = iob_kernel_files[i].source;
            hname[nh++] = iob_kernel_files[i].name;
        }
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, kf->source, kf->name, nh, hsrc, hname);
    if (r != NVRTC_SUCCESS)
        return iob_error_set(err, IOB_EGPU, "nvrtcCreateProgram(%s): %s", kf->name,
                             nvrtcGetErrorString(r));
    nvrtcResult cr = nvrtcCompileProgram(prog, nopt, opt);
    size_t log_size = 0;
    compile_log[0] = '\0';
    if (nvrtcGetProgramLogSize(prog, &log_size) == NVRTC_SUCCESS && log_size > 1) {
        char *log = malloc(log_size);
        if (log && nvrtcGetProgramLog(prog, log) == NVRTC_SUCCESS) {
            snprintf(compile_log, sizeof compile_log, "%s", log);
            if (log_size > sizeof compile_log)
                strcpy(compile_log + sizeof compile_log - 32, "\n... (log truncated)\n");
        }
        free(log);
    }
    iob_status st = IOB_OK;
    if (cr != NVRTC_SUCCESS) {
        char first[300];
        first_error_line(compile_log, first, sizeof first);
        st = iob_error_set(err, IOB_EGPU, "NVRTC could not compile %s: %s", kf->name,
                           first[0] ? first : nvrtcGetErrorString(cr));
    } else if ((r = nvrtcGetCUBINSize(prog, size)) != NVRTC_SUCCESS || !(*cubin = malloc(*size)) ||
               (r = nvrtcGetCUBIN(prog, *cubin)) != NVRTC_SUCCESS) {
        free(*cubin);
        *cubin = NULL;
        st = iob_error_set(err, IOB_EGPU, "nvrtcGetCUBIN(%s): %s", kf->name,
                           r != NVRTC_SUCCESS ? nvrtcGetErrorString(r) : "out of memory");
    } else {
        compile_log[0] = '\0'; /* warnings only: not a failed compilation */
    }
    nvrtcDestroyProgram(&prog);
    return st;
}

static iob_status check_arch(int arch, iob_error *err)
{
    int n = 0, archs[64];
    if (nvrtcGetNumSupportedArchs(&n) != NVRTC_SUCCESS || n <= 0 || n > 64 ||
        nvrtcGetSupportedArchs(archs) != NVRTC_SUCCESS)
        return IOB_OK; /* cannot tell: let the compilation say */
    for (int i = 0; i < n; i++)
        if (archs[i] == arch)
            return IOB_OK;
    return iob_error_set(err, IOB_EINVAL, "NVRTC cannot compile for sm_%d (supported: sm_%d to "
                         "sm_%d)", arch, archs[0], archs[n - 1]);
}

/* The cubin of a launch for arch (malloc'ed), from the cache or NVRTC; with cubin = NULL only
 * info->key is computed. */
static iob_status get_cubin(const iob_launch *l, int arch, void **cubin, size_t *size,
                            iob_compile_info *info, iob_error *err)
{
    memset(info, 0, sizeof *info);
    info->arch = arch;
    if (cubin)
        *cubin = NULL;
    const iob_kernel_file *kf = iob_kernel_file_find(l->file);
    if (!kf)
        return iob_error_set(err, IOB_EINVAL, "kernel file '%s' is not embedded in this build "
                             "(gpu/kernels/)", l->file);
    iob_status st = check_arch(arch, err);
    if (st)
        return st;
    int major = 0, minor = 0;
    if ((st = iob_gpu_nvrtc_version(&major, &minor, err)))
        return st;
    const char *opt[MAX_OPTIONS];
    size_t store_size = strlen(l->defines) + 4096;
    char *store = malloc(store_size);
    if (!store)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    int nopt = build_options(l, arch, opt, store, store_size);
    if (nopt < 0) {
        free(store);
        return iob_error_set(err, IOB_ERANGE, "%s: more than %d compiler options", l->entry,
                             MAX_OPTIONS);
    }
    if ((st = iob_cache_key(l->file, opt, nopt, arch, major, minor, info->key, err))) {
        free(store);
        return st;
    }
    if (!cubin) {
        free(store);
        return IOB_OK;
    }
    char dir[IOB_CACHE_PATH_MAX];
    int have_dir = iob_cache_dir(dir, sizeof dir, NULL) == IOB_OK;
    if (have_dir && iob_cache_read(dir, info->key, cubin, size)) {
        info->cache_hit = 1;
    } else {
        double t0 = now_ms();
        st = nvrtc_compile(kf, opt, nopt, cubin, size, err);
        info->ms = now_ms() - t0;
        if (!st && have_dir)
            iob_cache_write(dir, info->key, *cubin, *size, NULL); /* a miss next time at worst */
    }
    info->cubin_bytes = *size;
    free(store);
    return st;
}

iob_status iob_gpu_compile(const iob_launch *l, int arch, iob_compile_info *info, iob_error *err)
{
    iob_compile_info tmp;
    if (!info)
        info = &tmp;
    if (arch <= 0) {
        iob_gpu_ctx *c;
        iob_status st = iob_gpu_ctx_get(&c, err);
        if (st)
            return st;
        arch = c->arch;
    }
    void *cubin;
    size_t size;
    iob_status st = get_cubin(l, arch, &cubin, &size, info, err);
    free(cubin);
    return st;
}

iob_status iob_gpu_compile_many(const iob_launch *l, int n, int arch, iob_compile_info *info,
                                iob_status *st, iob_error *errs, iob_error *err)
{
    if (arch <= 0) {
        iob_gpu_ctx *c;
        iob_status s = iob_gpu_ctx_get(&c, err);
        if (s) {
            for (int i = 0; i < n; i++)
                st[i] = s;
            return s;
        }
        arch = c->arch;
    }
    /* NVRTC is thread-safe across programs; each thread keeps its own log */
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        iob_error e;
        st[i] = iob_gpu_compile(&l[i], arch, &info[i], &e);
        if (errs)
            errs[i] = e;
        else
            (void)e;
    }
    for (int i = 0; i < n; i++)
        if (st[i]) {
            if (errs && err)
                *err = errs[i];
            else
                iob_gpu_compile(&l[i], arch, &info[i], err); /* again, for the message */
            return st[i];
        }
    return IOB_OK;
}

/* ---- loaded kernels ------------------------------------------------------------------------ */

#define TABLE_SIZE 512

typedef struct loaded {
    char key[65];
    char entry[64];
    cudaLibrary_t lib;
    cudaKernel_t kernel;
    int64_t smem_limit; /* dynamic shared memory limit set so far */
    int pinned;         /* never recycled: its handle is kept for the whole process */
} loaded;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static loaded table[TABLE_SIZE];
static int table_n, table_next;

static loaded *find_loaded(cudaKernel_t k)
{
    for (int i = 0; i < table_n; i++)
        if (table[i].kernel == k)
            return &table[i];
    return NULL;
}

static iob_status jit_kernel(const iob_launch *l, cudaKernel_t *k, iob_compile_info *info,
                             int pin, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    if ((st = get_cubin(l, c->arch, NULL, NULL, info, err)))
        return st;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < table_n; i++)
        if (!strcmp(table[i].key, info->key) && !strcmp(table[i].entry, l->entry)) {
            *k = table[i].kernel;
            table[i].pinned |= pin;
            pthread_mutex_unlock(&table_lock);
            info->cache_hit = 1;
            return IOB_OK;
        }
    pthread_mutex_unlock(&table_lock);
    void *cubin = NULL;
    size_t size = 0;
    if ((st = get_cubin(l, c->arch, &cubin, &size, info, err)))
        return st;
    pthread_mutex_lock(&table_lock);
    cudaLibrary_t lib;
    cudaError_t e = cudaLibraryLoadData(&lib, cubin, NULL, NULL, 0, NULL, NULL, 0);
    free(cubin);
    if (e != cudaSuccess) {
        pthread_mutex_unlock(&table_lock);
        return iob_cuda_fail(e, "cudaLibraryLoadData", err);
    }
    e = cudaLibraryGetKernel(k, lib, l->entry);
    if (e != cudaSuccess) {
        cudaLibraryUnload(lib);
        pthread_mutex_unlock(&table_lock);
        char what[128];
        snprintf(what, sizeof what, "cudaLibraryGetKernel(%s in %s)", l->entry, l->file);
        return iob_cuda_fail(e, what, err);
    }
    /* A full table recycles the oldest slot that is not pinned (round robin); its library is
     * unloaded. Pinned slots hold handles kept across calls (the L2 flush kernel): unloading
     * one gave "invalid resource handle" on the H100 after a tuning worker had loaded more than
     * TABLE_SIZE kernels (2026-11-23). */
    int slot;
    if (table_n < TABLE_SIZE) {
        slot = table_n++;
    } else {
        int tries = 0;
        do
            slot = table_next++ % TABLE_SIZE;
        while (table[slot].pinned && ++tries < TABLE_SIZE);
        if (table[slot].pinned) { /* every slot pinned: cannot happen with one pinned kernel */
            cudaLibraryUnload(lib);
            pthread_mutex_unlock(&table_lock);
            return iob_error_set(err, IOB_ENOMEM, "kernel table full of pinned kernels");
        }
    }
    if (table[slot].lib)
        cudaLibraryUnload(table[slot].lib);
    loaded *t = &table[slot];
    memset(t, 0, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", info->key);
    snprintf(t->entry, sizeof t->entry, "%s", l->entry);
    t->lib = lib;
    t->kernel = *k;
    t->smem_limit = 48 * 1024;
    t->pinned = pin;
    pthread_mutex_unlock(&table_lock);
    return IOB_OK;
}

iob_status iob_jit_kernel(const iob_launch *l, cudaKernel_t *k, iob_compile_info *info,
                          iob_error *err)
{
    return jit_kernel(l, k, info, 0, err);
}

iob_status iob_jit_kernel_pinned(const iob_launch *l, cudaKernel_t *k, iob_compile_info *info,
                                 iob_error *err)
{
    return jit_kernel(l, k, info, 1, err);
}

typedef CUresult (*pfn_kernel_get_function)(CUfunction *, CUkernel);
typedef CUresult (*pfn_launch_kernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                                      unsigned, unsigned, unsigned, CUstream, void **, void **);

static iob_status driver_launch(const iob_launch *l, cudaKernel_t k, void **args,
                                cudaStream_t s, iob_error *err)
{
    pfn_kernel_get_function get_fn =
        (pfn_kernel_get_function)iob_driver_entry("cuKernelGetFunction");
    pfn_launch_kernel launch = (pfn_launch_kernel)iob_driver_entry("cuLaunchKernel");
    if (!get_fn || !launch)
        return iob_error_set(err, IOB_EGPU, "launch of %s: the runtime refused the kernel handle "
                             "and the driver's cuLaunchKernel is not available", l->entry);
    CUfunction f;
    CUresult r = get_fn(&f, (CUkernel)k);
    if (r == CUDA_SUCCESS)
        r = launch(f, l->grid[0], l->grid[1], l->grid[2], l->block[0], l->block[1], l->block[2],
                   (unsigned)l->smem_bytes, (CUstream)s, args, NULL);
    if (r != CUDA_SUCCESS)
        return iob_error_set(err, IOB_EGPU, "cuLaunchKernel(%s): CUresult %d", l->entry, (int)r);
    return IOB_OK;
}

iob_status iob_jit_launch(const iob_launch *l, cudaKernel_t k, void *const bufs[6],
                          cudaStream_t s, iob_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "launch of %s", l->entry);
    if (l->smem_bytes > 48 * 1024) {
        pthread_mutex_lock(&table_lock);
        loaded *t = find_loaded(k);
        int64_t have = t ? t->smem_limit : 0;
        pthread_mutex_unlock(&table_lock);
        if (have < l->smem_bytes) {
            iob_gpu_ctx *c;
            iob_status st = iob_gpu_ctx_get(&c, err);
            if (st)
                return st;
            cudaError_t e = cudaKernelSetAttributeForDevice(
                k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)l->smem_bytes, c->dev);
            if (e != cudaSuccess) {
                snprintf(what, sizeof what, "raising the shared memory of %s to %lld bytes",
                         l->entry, (long long)l->smem_bytes);
                return iob_cuda_fail(e, what, err);
            }
            pthread_mutex_lock(&table_lock);
            if ((t = find_loaded(k)))
                t->smem_limit = l->smem_bytes;
            pthread_mutex_unlock(&table_lock);
        }
    }
    void *ptr[IOB_PLAN_ARGS_MAX];
    long long i64[IOB_PLAN_ARGS_MAX];
    float f32[IOB_PLAN_ARGS_MAX];
    void *args[IOB_PLAN_ARGS_MAX];
    for (int i = 0; i < l->nargs && i < IOB_PLAN_ARGS_MAX; i++) {
        switch (l->args[i].kind) {
        case IOB_ARG_BUF:
            ptr[i] = (unsigned)l->args[i].buf < 6 ? bufs[l->args[i].buf] : NULL;
            args[i] = &ptr[i];
            break;
        case IOB_ARG_I64:
            i64[i] = l->args[i].i64;
            args[i] = &i64[i];
            break;
        case IOB_ARG_F32:
            f32[i] = l->args[i].f32;
            args[i] = &f32[i];
            break;
        }
    }
    dim3 grid = {l->grid[0], l->grid[1], l->grid[2]};
    dim3 block = {l->block[0], l->block[1], l->block[2]};
    cudaError_t e = cudaLaunchKernel((const void *)k, grid, block, args, (size_t)l->smem_bytes, s);
    if (e == cudaErrorInvalidDeviceFunction) {
        cudaGetLastError();
        return driver_launch(l, k, args, s, err);
    }
    if (e != cudaSuccess)
        return iob_cuda_fail(e, what, err);
    e = cudaGetLastError();
    if (e != cudaSuccess)
        return iob_cuda_fail(e, what, err);
    return IOB_OK;
}
