/* naive.cu - the correctness baseline: one thread per output element y[n][k][p][q], FP32 FMA
 * accumulation over the (C/G) x R x S taps in (c, r, s) order, any stride, padding, dilation and
 * groups. It is not one of the model's dataflows (docs/gpu.md, "The naive kernel"): the executor,
 * the output checks and the counters are tested with it before any tuned kernel exists.
 *
 * Every tap is one FFMA, padding taps included (they multiply a 0.0f that the load predicate
 * selects), so sm__sass_thread_inst_executed_op_ffma_pred_on.sum is exactly
 * N*K*P*Q*(C/G)*R*S = the layer's MAC count (tests/test_gpu_counters.c checks it).
 *
 * Macros: the layer's LAYER_* (include/iobound/plan.h). Test-only: IOB_NAIVE_PERTURB adds 1.0f to
 * the first output element, so that the output check can be seen to fail.
 * Launch: 1-D grid of ceil(N*K*P*Q / 256) blocks of 256 threads, no shared memory.
 */
#define IOB_CG (LAYER_C / LAYER_GROUPS)
#define IOB_KG (LAYER_K / LAYER_GROUPS)

extern "C" __global__ void __launch_bounds__(256)
iob_conv_naive(const float *__restrict__ x, const float *__restrict__ w, float *__restrict__ y)
{
    const long long total = (long long)LAYER_N * LAYER_K * LAYER_P * LAYER_Q;
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total)
        return;
    const int q = (int)(i % LAYER_Q);
    long long t = i / LAYER_Q;
    const int p = (int)(t % LAYER_P);
    t /= LAYER_P;
    const int k = (int)(t % LAYER_K);
    const long long n = t / LAYER_K;
    const int g = k / IOB_KG;
    const float *xg = x + (n * LAYER_C + (long long)g * IOB_CG) * LAYER_H * LAYER_W;
    const float *wk = w + (long long)k * IOB_CG * LAYER_R * LAYER_S;
    float acc = 0.0f;
    for (int c = 0; c < IOB_CG; c++) {
        for (int r = 0; r < LAYER_R; r++) {
            const int ih = p * LAYER_STRIDE_H - LAYER_PAD_TOP + r * LAYER_DIL_H;
            for (int s = 0; s < LAYER_S; s++) {
                const int iw = q * LAYER_STRIDE_W - LAYER_PAD_LEFT + s * LAYER_DIL_W;
                const bool in = ih >= 0 && ih < LAYER_H && iw >= 0 && iw < LAYER_W;
                const float xv = in ? xg[((long long)c * LAYER_H + ih) * LAYER_W + iw] : 0.0f;
                acc = fmaf(xv, wk[(c * LAYER_R + r) * LAYER_S + s], acc);
            }
        }
    }
#ifdef IOB_NAIVE_PERTURB
    if (i == 0)
        acc += 1.0f;
#endif
    y[i] = acc;
}
