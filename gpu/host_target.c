/* host_target.c - the host-side parts of the GPU API that need no CUDA: run option defaults,
 * reference path names and target labels. Built in every configuration (stub.c covers the CUDA
 * entry points without CUDA). */
#include <stdio.h>
#include <string.h>

#include "gpu/host_im2col_cublas.h"
#include "iobound/gpu.h"

void iob_run_opts_default(iob_run_opts *o)
{
    o->warmup = 3;
    o->reps = 20;
    o->seed = 1;
    o->flush_l2 = 1;
    o->check = 1;
    o->check_samples = 0;
    o->with_cudnn = 0;
}

static const char *const ref_names[IOB_GPU_REF_COUNT] = {"naive", "im2col-cublas"};

const char *iob_gpu_ref_name(iob_gpu_ref ref)
{
    return (unsigned)ref < IOB_GPU_REF_COUNT ? ref_names[ref] : "unknown";
}

iob_status iob_gpu_ref_parse(const char *name, iob_gpu_ref *ref, iob_error *err)
{
    for (int i = 0; i < IOB_GPU_REF_COUNT; i++)
        if (!strcmp(name, ref_names[i])) {
            *ref = (iob_gpu_ref)i;
            return IOB_OK;
        }
    return iob_error_set(err, IOB_EINVAL, "unknown reference path '%s' (known: naive, "
                         "im2col-cublas)", name);
}

int iob_gpu_target_label(const iob_gpu_target *t, char *buf, size_t size)
{
    switch (t->kind) {
    case IOB_TARGET_CONFIG:
        return iob_config_format(&t->cfg, buf, size);
    case IOB_TARGET_PLAN:
        return snprintf(buf, size, "plan %s", t->plan && t->plan->nlaunch ?
                        t->plan->launch[0].entry : "(empty)");
    case IOB_TARGET_REF:
        return snprintf(buf, size, "%s", iob_gpu_ref_name(t->ref));
    case IOB_TARGET_CUDNN:
        return snprintf(buf, size, "cudnn %s (%s)", t->cudnn_algo[0] ? t->cudnn_algo : "fastest",
                        t->tf32 ? "TF32 allowed" : "FMA");
    }
    return snprintf(buf, size, "?");
}

iob_status iob_gpu_ref_launches(const iob_layer *L, iob_gpu_ref ref, int sm_count,
                                iob_launch *out, int max, int *n, iob_error *err)
{
    *n = 0;
    iob_plan p;
    iob_launch l;
    iob_status st;
    if (ref == IOB_GPU_REF_IM2COL_CUBLAS)
        st = iob_im2col_gather_launch(L, 0, L->n, sm_count, &l, err);
    else if ((st = iob_plan_naive(L, &p, err)) == IOB_OK)
        l = p.launch[0];
    if (st)
        return st;
    if (max > 0)
        out[0] = l;
    *n = 1;
    return IOB_OK;
}
