/* kernel_prelude.cuh - what a kernel file that the CPU emulation also runs needs on the GPU
 * (gpu/kernels/band_copy.cuh, wino_transform.cuh): the kernel and device-function attributes,
 * the dynamic shared memory, cp.async, IEEE-rounded FP32/FP64 arithmetic that is never contracted,
 * and the shared- and global-memory access macros that the emulation counts and logs. Compiled
 * with tests/cuda_emu.h forced in front (IOB_CUDA_EMU), the file defines none of this: the
 * emulator defines the same names for a CPU run.
 */
#ifndef IOB_KERNEL_PRELUDE_CUH
#define IOB_KERNEL_PRELUDE_CUH

#ifndef IOB_CUDA_EMU
#define IOB_KERNEL extern "C" __global__
#define IOB_DEV static __device__ __forceinline__
#define IOB_STATIC_ASSERT(c, msg) static_assert(c, msg)
#define IOB_DYN_SMEM(name)                                                                       \
    extern __shared__ float4 iob_smem4_[];                                                        \
    float *name = (float *)iob_smem4_
#define IOB_RESTRICT __restrict__

/* cp.async: 4 bytes through L1 (.ca) with zero fill when src_bytes = 0 (no global read), and
 * 16 bytes bypassing L1 (.cg). Groups as in PTX ISA 9.7.9.25. */
IOB_DEV void cp_async4(float *dst, const float *src, int src_bytes)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src),
                 "r"(src_bytes)
                 : "memory");
}
IOB_DEV void cp_async16(float *dst, const float *src)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(src) : "memory");
}
#define CP_ASYNC_COMMIT() asm volatile("cp.async.commit_group;\n" ::: "memory")
#define CP_ASYNC_WAIT(n) asm volatile("cp.async.wait_group %0;\n" ::"n"(n) : "memory")
#define FMUL(a, b) __fmul_rn(a, b)
#define FADD(a, b) __fadd_rn(a, b)
#define FSUB(a, b) __fsub_rn(a, b)
#define FFMA(a, b, c) __fmaf_rn(a, b, c)
#define DMUL(a, b) __dmul_rn(a, b)
#define DADD(a, b) __dadd_rn(a, b)
#define LDS4(dst, p)                                                                              \
    do {                                                                                          \
        float4 t4_ = *(const float4 *)(p);                                                        \
        (dst)[0] = t4_.x; (dst)[1] = t4_.y; (dst)[2] = t4_.z; (dst)[3] = t4_.w;                   \
    } while (0)
#define LDS2(dst, p)                                                                              \
    do {                                                                                          \
        float2 t2_ = *(const float2 *)(p);                                                        \
        (dst)[0] = t2_.x; (dst)[1] = t2_.y;                                                       \
    } while (0)
#define STS4(p, s)                                                                                \
    (*(float4 *)(p) = make_float4((s)[0], (s)[1], (s)[2], (s)[3]))
#define STS2(p, s) (*(float2 *)(p) = make_float2((s)[0], (s)[1]))
#define SLD(p) (*(p))
#define SST(p, v) (*(p) = (v))
#define LDG(p) (*(p))
#define STG(p, v) (*(p) = (v))
#endif /* IOB_CUDA_EMU: tests/cuda_emu.h defines the same names for a CPU run */

#endif
