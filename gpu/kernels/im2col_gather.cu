/* im2col_gather.cu - the gather half of the im2col + cuBLAS SGEMM reference path
 * (gpu/cuda_cublas.c, docs/gpu.md): unfolds nimg images starting at image n0 into the column
 * buffer col, laid out [img][g][crs][pq] with crs = (c'*R + r)*S + s and pq = p*Q + q, padding
 * taps written as 0. The GEMM per group then reads col as a column-major (P*Q) x (C/G*R*S)
 * matrix (gpu/host_im2col_cublas.c has the shapes).
 *
 * Macros: the layer's LAYER_*. Launch: 1-D grid-stride loop, any grid, 256 threads per block.
 */
#define IOB_CG (LAYER_C / LAYER_GROUPS)
#define IOB_CRS ((long long)IOB_CG * LAYER_R * LAYER_S)
#define IOB_PQ ((long long)LAYER_P * LAYER_Q)

extern "C" __global__ void __launch_bounds__(256)
iob_im2col_gather(const float *__restrict__ x, float *__restrict__ col, long long n0,
                  long long nimg)
{
    const long long total = nimg * LAYER_GROUPS * IOB_CRS * IOB_PQ;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const long long pq = i % IOB_PQ;
        long long t = i / IOB_PQ;
        const long long crs = t % IOB_CRS;
        t /= IOB_CRS;
        const int g = (int)(t % LAYER_GROUPS);
        const long long img = t / LAYER_GROUPS;
        const int s = (int)(crs % LAYER_S);
        const int r = (int)((crs / LAYER_S) % LAYER_R);
        const int c = (int)(crs / ((long long)LAYER_R * LAYER_S));
        const int p = (int)(pq / LAYER_Q), q = (int)(pq % LAYER_Q);
        const int ih = p * LAYER_STRIDE_H - LAYER_PAD_TOP + r * LAYER_DIL_H;
        const int iw = q * LAYER_STRIDE_W - LAYER_PAD_LEFT + s * LAYER_DIL_W;
        float v = 0.0f;
        if (ih >= 0 && ih < LAYER_H && iw >= 0 && iw < LAYER_W)
            v = x[(((n0 + img) * LAYER_C + (long long)g * IOB_CG + c) * LAYER_H + ih) * LAYER_W +
                  iw];
        col[i] = v;
    }
}
