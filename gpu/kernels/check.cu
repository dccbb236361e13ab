/* check.cu - the output check of a large layer on the device (gpu/cuda_exec.c, iob_session_check):
 * instead of copying the whole output back to scan it on the host (1.6 GB for a batch-128 layer:
 * about half a second per check, two checks per measured config), the scan for the poison
 * pattern and for non-finite values runs here, and only the sampled outputs the FP64 reference
 * covers are gathered and copied back. The host then compares them exactly as it would have.
 *
 *   iob_check_scan    out[0] += unwritten (bits 0xFFFFFFFF), out[1] = min index of one,
 *                     out[2] += other NaN / infinite, out[3] = min index of one
 *                     (out starts as {0, ~0, 0, ~0}); any 1-D grid, grid-stride loop
 *   iob_check_gather  dst[i] = y[idx[i]] for i < count
 */
extern "C" __global__ void __launch_bounds__(256)
iob_check_scan(const unsigned *__restrict__ y, long long n, unsigned long long *__restrict__ out)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    unsigned long long unwritten = 0, nonfinite = 0, first_u = ~0ull, first_n = ~0ull;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const unsigned u = y[i];
        if (u == 0xFFFFFFFFu) {
            unwritten++;
            first_u = first_u < (unsigned long long)i ? first_u : (unsigned long long)i;
        } else if ((u & 0x7F800000u) == 0x7F800000u) {
            nonfinite++;
            first_n = first_n < (unsigned long long)i ? first_n : (unsigned long long)i;
        }
    }
    if (unwritten) {
        atomicAdd(out, unwritten);
        atomicMin(out + 1, first_u);
    }
    if (nonfinite) {
        atomicAdd(out + 2, nonfinite);
        atomicMin(out + 3, first_n);
    }
}

extern "C" __global__ void __launch_bounds__(256)
iob_check_gather(const float *__restrict__ y, const long long *__restrict__ idx, long long count,
                 float *__restrict__ dst)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        dst[i] = y[idx[i]];
}
