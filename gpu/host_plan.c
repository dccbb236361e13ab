/* host_plan.c - plan building shared by every algorithm: the layer/config macros and the
 * dispatch to gpu/host_<algo>.c. Pure C: built and tested without CUDA. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gpu/host_plan_algo.h"
#include "iobound/plan.h"

extern const iob_plan_builder iob_direct_plan_builder; /* gpu/host_direct.c */
extern const iob_plan_builder iob_plan_winograd; /* gpu/host_winograd.c */
extern const iob_plan_builder iob_plan_im2col; /* gpu/host_im2col.c */
extern const iob_plan_builder iob_plan_im2win; /* gpu/host_im2win.c */
extern const iob_plan_builder iob_plan_wino_nonfused; /* gpu/host_wino_nonfused.c */

/* The algorithms that have kernels; each entry lives in gpu/host_<algo>.c. */
static const iob_plan_builder *const builders[] = {
    &iob_direct_plan_builder,
    &iob_plan_winograd,
    &iob_plan_im2col,
    &iob_plan_im2win,
    &iob_plan_wino_nonfused,
    NULL,
};

iob_status iob_launch_init(iob_launch *l, const char *file, const char *entry, int64_t gx,
                           int64_t gy, int64_t gz, int threads, int64_t smem_bytes,
                           iob_error *err)
{
    memset(l, 0, sizeof *l);
    l->kind = IOB_LAUNCH_KERNEL;
    snprintf(l->file, sizeof l->file, "%s", file);
    snprintf(l->entry, sizeof l->entry, "%s", entry);
    if (gx < 1 || gy < 1 || gz < 1 || gx > 2147483647 || gy > 65535 || gz > 65535)
        return iob_error_set(err, IOB_EINFEASIBLE, "%s: a grid of %lld x %lld x %lld blocks is "
                             "outside CUDA's limits", entry, (long long)gx, (long long)gy,
                             (long long)gz);
    l->grid[0] = (uint32_t)gx;
    l->grid[1] = (uint32_t)gy;
    l->grid[2] = (uint32_t)gz;
    l->block[0] = (uint32_t)threads;
    l->block[1] = l->block[2] = 1;
    l->smem_bytes = smem_bytes;
    return IOB_OK;
}

void iob_launch_arg_buf(iob_launch *l, iob_buf b)
{
    if (l->nargs < IOB_PLAN_ARGS_MAX)
        l->args[l->nargs++] = (iob_kernel_arg){.kind = IOB_ARG_BUF, .buf = b};
}

iob_status iob_launch_define(iob_launch *l, const char *name, long long value, iob_error *err)
{
    size_t used = strlen(l->defines);
    int n = snprintf(l->defines + used, sizeof l->defines - used, "%s-D%s=%lld",
                     used ? " " : "", name, value);
    if (n < 0 || (size_t)n >= sizeof l->defines - used) {
        l->defines[used] = '\0';
        return iob_error_set(err, IOB_ERANGE, "kernel macros of %s do not fit", l->entry);
    }
    return IOB_OK;
}

iob_status iob_plan_defines(const iob_layer *L, const iob_config *cfg, char *buf, size_t size,
                            iob_error *err)
{
    iob_launch tmp;
    memset(&tmp, 0, sizeof tmp);
    struct {
        const char *name;
        long long v;
    } layer_macros[] = {
        {"LAYER_N", L->n}, {"LAYER_C", L->c}, {"LAYER_H", L->h}, {"LAYER_W", L->w},
        {"LAYER_K", L->k}, {"LAYER_R", L->r}, {"LAYER_S", L->s}, {"LAYER_P", L->p},
        {"LAYER_Q", L->q}, {"LAYER_STRIDE_H", L->stride_h}, {"LAYER_STRIDE_W", L->stride_w},
        {"LAYER_PAD_TOP", L->pad_top}, {"LAYER_PAD_LEFT", L->pad_left},
        {"LAYER_DIL_H", L->dil_h}, {"LAYER_DIL_W", L->dil_w}, {"LAYER_GROUPS", L->groups},
    };
    iob_status st;
    for (size_t i = 0; i < sizeof layer_macros / sizeof layer_macros[0]; i++)
        if ((st = iob_launch_define(&tmp, layer_macros[i].name, layer_macros[i].v, err)))
            return st;
    for (int i = 0; cfg && i < iob_config_field_count(); i++) {
        const iob_config_field *f = iob_config_field_at(i);
        char name[64];
        size_t k;
        for (k = 0; f->key[k] && k < sizeof name - 1; k++)
            name[k] = (char)toupper((unsigned char)f->key[k]);
        name[k] = '\0';
        if ((st = iob_launch_define(&tmp, name, *(const int *)((const char *)cfg + f->offset), err)))
            return st;
    }
    if (strlen(tmp.defines) >= size)
        return iob_error_set(err, IOB_ERANGE, "kernel macros do not fit in %zu bytes", size);
    strcpy(buf, tmp.defines);
    return IOB_OK;
}

int iob_plan_has_builder(iob_algo algo)
{
    for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++)
        if (builders[i] && builders[i]->algo == algo)
            return 1;
    return 0;
}

iob_status iob_plan_build(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                          iob_plan *plan, iob_error *err)
{
    memset(plan, 0, sizeof *plan);
    for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++)
        if (builders[i] && builders[i]->algo == cfg->algo) {
            iob_resources res;
            memset(&res, 0, sizeof res);
            iob_status st = iob_dataflow_check(L, cfg, m, &res, err);
            if (st)
                return st;
            return builders[i]->build(L, cfg, m, &res, plan, err);
        }
    return iob_error_set(err, IOB_ENOTSUP, "no GPU kernel for algorithm '%s'",
                         iob_algo_name(cfg->algo));
}
