/* bound.h - I/O lower bounds (red-blue pebble game) for convolution algorithms.
 *
 * Every bound is in elements (words) first; bytes = elements * elem_bytes (4 for FP32).
 * S is the fast memory of ONE processor (an SM) in words. The bound for one processor that
 * executes the whole layer is `bound`; the bound on the total traffic of P processors, each with
 * S words, is `bound_gpu`. Both are max(compulsory, reuse bound). Derivations: docs/bounds.md.
 */
#ifndef IOBOUND_BOUND_H
#define IOBOUND_BOUND_H

#include <stdint.h>

#include "iobound/layer.h"
#include "iobound/machine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum iob_algo {
    IOB_ALGO_DIRECT = 0,
    IOB_ALGO_WINOGRAD,
    IOB_ALGO_IM2COL,
    IOB_ALGO_IM2WIN,
    IOB_ALGO_GEMM,
    IOB_ALGO_WINOGRAD_NONFUSED, /* V, U and M stored; alpha^2 GEMMs by cuBLAS (docs/model.md) */
    IOB_ALGO_COUNT
} iob_algo;

/* "direct", "winograd", "im2col", "im2win", "gemm", "winograd-nonfused". */
const char *iob_algo_name(iob_algo algo);
/* Parses one of the names above; IOB_EINVAL otherwise (message lists them). */
iob_status iob_algo_parse(const char *name, iob_algo *algo, iob_error *err);

#define IOB_BOUND_TERMS_MAX 6

/* One sub-computation of a composite algorithm, with its own bound. */
typedef struct iob_bound_term {
    char name[40];      /* "input transform", "EWMM", "gather", "GEMM", ... */
    double ops;         /* operations counted for this sub-computation */
    double compulsory;  /* its own compulsory traffic, elements */
    double bound;       /* its own bound, elements (single processor) */
} iob_bound_term;

typedef struct iob_bound {
    iob_algo algo;
    char variant[48];        /* "direct", "F(4x4,3x3) fused", "im2col+GEMM", "GEMM" */
    int applicable;          /* 0: reason says why, and no number is meaningful */
    char reason[160];
    int elem_bytes;          /* 4 for FP32 */
    double s_words;          /* S: fast memory of one processor, elements */
    int processors;          /* P used for bound_gpu */
    double flops;            /* the algorithm's own floating-point operations (2 per MAC) */
    double ops;              /* operations the segment argument counts (useful MACs) */
    double rho;              /* reuse constant: a segment's ops <= sqrt(rho * |A||B||C|) */
    double compulsory;       /* elements every execution must move (inputs used, weights,
                                outputs, and any tensor the algorithm materialises) */
    double leading;          /* leading term of the reuse bound alone, e.g. 2*ops/sqrt(rho*S) */
    double reuse;            /* the reuse bound with its lower-order terms, one processor */
    double bound;            /* max(compulsory, reuse), one processor with S words */
    double reuse_gpu;        /* the reuse bound on the total traffic of P processors */
    double bound_gpu;        /* max(compulsory, reuse_gpu) */
    char dominant[64];       /* "compulsory" or "reuse" (+ the dominating sub-computation) */
    double workspace;        /* extra memory the algorithm allocates, elements */
    double segment_loads;    /* t: loads per segment that gave the bound */
    int nterms;
    iob_bound_term terms[IOB_BOUND_TERMS_MAX];
} iob_bound;

/* Bytes of an element count for a bound's element size. */
static inline double iob_bound_bytes(const iob_bound *b, double elems)
{
    return elems * b->elem_bytes;
}

/* The bound options a caller chooses. */
typedef struct iob_bound_opts {
    double s_words;     /* fast memory of one processor, in elements (> 3) */
    int processors;     /* P >= 1 */
    int elem_bytes;     /* 4 */
} iob_bound_opts;

/* Options for a machine: S = iob_machine_fast_bytes(m) / elem_bytes, P = m->sm_count. */
iob_bound_opts iob_bound_opts_for(const iob_machine *m, int elem_bytes);
/* IOB_ERANGE unless S >= 3 words (one multiply-add holds three operands), P >= 1, elem_bytes >= 1. */
iob_status iob_bound_opts_check(const iob_bound_opts *opts, iob_error *err);

/* Bounds of one algorithm for a layer. Writes up to max_out entries into out (Winograd has one
 * per variant F(m x m, r x r) x {stored, fused}; the others one) and returns how many through
 * *count. Entries of algorithms that do not apply have applicable = 0 and a reason. */
iob_status iob_bound_layer(const iob_layer *layer, iob_algo algo, const iob_bound_opts *opts,
                           iob_bound *out, int max_out, int *count, iob_error *err);

/* Per-algorithm entry points (model/direct.c, winograd.c, im2col.c, im2win.c, gemm.c). */
iob_status iob_bound_direct(const iob_layer *layer, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err);
/* How a Winograd computation keeps its tensors (iob_bound_winograd's `fused`). */
enum {
    IOB_WINO_STORED = 0,     /* V, U and M stored in memory between sub-computations */
    IOB_WINO_FUSED = 1,      /* transforms inside the kernel, the transformed filter U read */
    IOB_WINO_U_PREPARED = 2  /* stored, with U made beforehand (once per layer, not counted:
                                variant "stored, U prepared", the non-fused kernels' run) */
};

/* m in {2, 4, 6}; fused one of IOB_WINO_STORED, IOB_WINO_FUSED, IOB_WINO_U_PREPARED. */
iob_status iob_bound_winograd(const iob_layer *layer, int m, int fused,
                              const iob_bound_opts *opts, iob_bound *out, iob_error *err);
iob_status iob_bound_im2col(const iob_layer *layer, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err);
iob_status iob_bound_im2win(const iob_layer *layer, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err);
/* C (m x n) = A (m x k) * B (k x n), as G independent products (groups; G = 1 for one). */
iob_status iob_bound_gemm(uint64_t m, uint64_t n, uint64_t k, uint64_t batch,
                          const iob_bound_opts *opts, iob_bound *out, iob_error *err);
/* The best explicit schedule of a simple family of direct-convolution schedules on the bound's
 * own machine (processors of S words and nothing else): output tiles of tk channels x tn images x
 * tp x tq pixels stay resident while the input channels stream in chunks of tc (model/
 * schedule_direct.c). Its traffic is achievable, so the least traffic any schedule needs lies
 * between bound_gpu and `words` (docs/bounds.md, "How tight the bound is"). Elements. */
typedef struct iob_schedule {
    double words;                 /* loads + stores of the whole layer */
    double input, filter, output; /* its parts: receptive fields, filter slices, outputs once */
    int64_t tk, tn, tp, tq, tc;   /* the tile and the channel chunk */
} iob_schedule;

/* The least-traffic tile of the family for S words (tile sides: every value up to 64 and the
 * extent for tp and tq, powers of two and the extent for tk, tn, tc). IOB_ERANGE when S < 3,
 * when no tile fits, or when P or Q exceed 65536. About 20 ms for a large layer. */
iob_status iob_schedule_direct(const iob_layer *layer, double s_words, iob_schedule *out,
                               iob_error *err);

/* The GEMM a layer reduces to when it is a 1x1, stride-1, unpadded convolution, per group:
 * m = K/G, n = N*P*Q, k = C/G, batch = G. For other layers: im2col's GEMM (k = C/G*R*S). */
void iob_layer_gemm_shape(const iob_layer *layer, uint64_t *m, uint64_t *n, uint64_t *k,
                          uint64_t *batch);

#ifdef __cplusplus
}
#endif

#endif
