/* flush.cu - empties the L2 between timed or measured runs by READING a buffer of twice its size
 * (../shared/device/NOTES.md: a memset flush leaves dirty lines behind that are written back
 * during the next kernel and charged to it; reads evict them and leave only clean lines).
 *
 * The buffer is zero-filled once, so `acc` is 0 and the store to *sink never happens; the
 * compiler cannot know that, so every load stays. Loads use ld.global.cg (cache in L2, not L1).
 * Launch: any 1-D grid (the executor uses 4 blocks per SM of 256 threads), no shared memory.
 */
extern "C" __global__ void __launch_bounds__(256)
iob_l2_flush(const float4 *__restrict__ buf, long long n4, float *__restrict__ sink)
{
    float acc = 0.0f;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        const float4 v = __ldcg(buf + i);
        acc += (v.x + v.y) + (v.z + v.w);
    }
    if (acc != 0.0f)
        *sink = acc;
}
