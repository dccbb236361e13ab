/* host_im2col_cublas.c - GEMM shapes, chunking and the gather launch of the im2col + cuBLAS SGEMM
 * reference path (the formulas: host_im2col_cublas.h). */
#include "gpu/host_im2col_cublas.h"

#include <string.h>

#define GATHER_THREADS 256

iob_status iob_im2col_gemm_shape(const iob_layer *L, int64_t max_col_bytes, iob_im2col_gemm *g,
                                 iob_error *err)
{
    memset(g, 0, sizeof *g);
    int64_t G = L->groups, pq = L->p * L->q, kg = L->k / G, crs = (L->c / G) * L->r * L->s;
    g->m = pq;
    g->n = kg;
    g->k = crs;
    g->lda = pq;
    g->ldb = crs;
    g->ldc = pq;
    g->stride_a = G * crs * pq;
    g->stride_b = 0;
    g->stride_c = L->k * pq;
    g->a_group = crs * pq;
    g->b_group = kg * crs;
    g->c_group = kg * pq;
    g->c_image = L->k * pq;
    g->groups = G;
    const int64_t int_max = 2147483647;
    if (pq > int_max || kg > int_max || crs > int_max || L->n > int_max)
        return iob_error_set(err, IOB_ERANGE, "im2col-cublas: GEMM %lld x %lld x %lld exceeds "
                             "cuBLAS's int dimensions", (long long)pq, (long long)kg,
                             (long long)crs);
    int64_t per_image = g->stride_a * 4;
    if (per_image > max_col_bytes)
        return iob_error_set(err, IOB_ENOMEM, "im2col-cublas: the columns of one image take %lld "
                             "bytes, more than the %lld allowed", (long long)per_image,
                             (long long)max_col_bytes);
    g->images_per_chunk = max_col_bytes / per_image;
    if (g->images_per_chunk > L->n)
        g->images_per_chunk = L->n;
    g->chunks = (L->n + g->images_per_chunk - 1) / g->images_per_chunk;
    g->col_bytes = g->images_per_chunk * per_image;
    return IOB_OK;
}

iob_status iob_im2col_gather_launch(const iob_layer *L, int64_t n0, int64_t nimg, int sm_count,
                                    iob_launch *l, iob_error *err)
{
    int64_t total = nimg * L->groups * (L->c / L->groups) * L->r * L->s * L->p * L->q;
    int64_t blocks = (total + GATHER_THREADS - 1) / GATHER_THREADS;
    int64_t cap = 8 * (int64_t)(sm_count > 0 ? sm_count : 1);
    iob_status st = iob_launch_init(l, "im2col_gather.cu", "iob_im2col_gather",
                                    blocks < cap ? (blocks > 0 ? blocks : 1) : cap, 1, 1,
                                    GATHER_THREADS, 0, err);
    if (st || (st = iob_plan_defines(L, NULL, l->defines, sizeof l->defines, err)))
        return st;
    iob_launch_arg_buf(l, IOB_BUF_INPUT);
    iob_launch_arg_buf(l, IOB_BUF_WORK0);
    l->nargs = 4;
    l->args[2] = (iob_kernel_arg){.kind = IOB_ARG_I64, .i64 = n0};
    l->args[3] = (iob_kernel_arg){.kind = IOB_ARG_I64, .i64 = nimg};
    return IOB_OK;
}
