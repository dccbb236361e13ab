/* im2col.cu - the gather of the im2col + GEMM dataflow (docs/model.md, "im2col + GEMM"): unfolds
 * the input into col[n][g][(c', r, s)][p][q] (padding taps written as zeros), which the direct
 * kernel (direct.cu, compiled with the derived 1x1 layer's macros) then reads as an
 * N x C*R*S x P x Q input. One block per (image, channel, band of BM_BAND output rows), 256
 * threads; band_copy.cuh is the body, band_map.cuh the map of every float.
 *
 * Kernel (extern "C"): im2col_band(in, col), grid (N*C*ceil(P/BM_BAND)), BM_THREADS threads,
 * BM_SMEM_FLOATS*4 bytes of dynamic shared memory.
 *
 * The im2col + cuBLAS reference path has its own, simpler gather (im2col_gather.cu): its loads go
 * through L1, so its SM<->L2 traffic is not what the model counts.
 */
#include "band_copy.cuh"

IOB_STATIC_ASSERT(BM_KIND == BM_IM2COL, "im2col.cu is the im2col transform");

IOB_KERNEL void __launch_bounds__(BM_THREADS)
    im2col_band(const float *IOB_RESTRICT in, float *IOB_RESTRICT col)
{
    IOB_DYN_SMEM(sm);
    bm_transform(in, col, sm);
}
