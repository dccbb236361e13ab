/* stub.c - the GPU module's entry points in a build without CUDA (IOB_WITH_CUDA off): each says
 * so in one line, so that the CLI and the library need no #ifdef. Keep in sync with the CUDA-only
 * functions of include/iobound/gpu.h (the host-side ones live in gpu/host_*.c and are built in
 * every configuration). */
#include "iobound/gpu.h"

int iob_gpu_built(void) { return 0; }

iob_status iob_gpu_available(iob_error *err)
{
    return iob_error_set(err, IOB_ENODEV, "this iobound was built without CUDA (IOB_WITH_CUDA=OFF)");
}

iob_status iob_machine_query_device(iob_machine *m, iob_error *err)
{
    (void)m;
    return iob_gpu_available(err);
}

iob_status iob_gpu_run(const iob_layer *layer, const iob_config *cfg, const iob_run_opts *opts,
                       iob_run_result *result, iob_error *err)
{
    (void)layer, (void)cfg, (void)opts, (void)result;
    return iob_gpu_available(err);
}

iob_status iob_gpu_cudnn(const iob_layer *layer, const iob_run_opts *opts, iob_cudnn_result *out,
                         int max, int *count, iob_error *err)
{
    (void)layer, (void)opts, (void)out, (void)max;
    *count = 0;
    return iob_gpu_available(err);
}

long iob_gpu_cudnn_version(void) { return 0; }

iob_status iob_gpu_measure(const iob_layer *layer, const iob_config *cfg,
                           const iob_run_opts *opts, iob_counter_via via, iob_counters *per_kernel,
                           int max, int *nkernels, iob_counters *sum, iob_error *err)
{
    (void)layer, (void)cfg, (void)opts, (void)via, (void)per_kernel, (void)max, (void)sum;
    *nkernels = 0;
    return iob_gpu_available(err);
}

iob_status iob_gpu_run_target(const iob_layer *layer, const iob_gpu_target *target,
                              const iob_run_opts *opts, iob_run_result *result, iob_error *err)
{
    (void)layer, (void)target, (void)opts, (void)result;
    return iob_gpu_available(err);
}

iob_status iob_gpu_measure_target(const iob_layer *layer, const iob_gpu_target *target,
                                  const iob_run_opts *opts, iob_counter_via via,
                                  iob_counters *per_kernel, int max, int *nkernels,
                                  iob_counters *sum, iob_error *err)
{
    (void)layer, (void)target, (void)opts, (void)via, (void)per_kernel, (void)max, (void)sum;
    *nkernels = 0;
    return iob_gpu_available(err);
}

iob_status iob_gpu_compile(const iob_launch *launch, int arch, iob_compile_info *info,
                           iob_error *err)
{
    (void)launch, (void)arch, (void)info;
    return iob_gpu_available(err);
}

iob_status iob_gpu_compile_many(const iob_launch *launches, int n, int arch,
                                iob_compile_info *info, iob_status *st, iob_error *errs,
                                iob_error *err)
{
    (void)launches, (void)arch, (void)info, (void)errs;
    for (int i = 0; i < n; i++)
        st[i] = IOB_ENODEV;
    return iob_gpu_available(err);
}

const char *iob_gpu_compile_log(void) { return ""; }

iob_status iob_gpu_nvrtc_version(int *major, int *minor, iob_error *err)
{
    *major = *minor = 0;
    return iob_gpu_available(err);
}
