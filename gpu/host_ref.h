/* host_ref.h - the FP64 CPU reference of a convolution, the seeded input generator and the error
 * metric every GPU output is judged by (internal to gpu/ and its tests; pure C, no CUDA).
 *
 * Error metric (docs/gpu.md, "Checks"): for an output y computed in FP32 from taps x_i * w_i,
 *
 *     err(y) = |y - ref| / max(eps, sum_i |x_i * w_i|)          eps = FLT_MIN
 *
 * where ref is the FP64 sum of the taps that fall on real input elements. The denominator is the
 * quantity that bounds FP32 rounding: a recursive sum of T products has
 * |y - ref| <= (T + 1) u sum_i |x_i w_i| + O(u^2), u = 2^-24 (Higham, "Accuracy and Stability of
 * Numerical Algorithms", 2nd ed., eq. 3.5 with the products' own rounding), so err is at most
 * about T u whatever the cancellation in ref, and typically sqrt(T) u with random signs.
 */
#ifndef IOB_GPU_HOST_REF_H
#define IOB_GPU_HOST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "iobound/layer.h"

/* FLT_MIN: the denominator of the metric when every tap of an output falls on padding (then the
 * reference is exactly 0 and any non-zero y is an error of about 1e38). */
#define IOB_REF_EPS 1.1754943508222875e-38

/* The output buffer is filled with this bit pattern (a NaN) before every run; an element that
 * still holds it afterwards was not written. */
#define IOB_POISON_BITS 0xFFFFFFFFu

/* Layers with at most this many multiply-adds are checked in full; larger ones at a seeded
 * sample of IOB_REF_SAMPLES outputs (plus the first and the last). 4e8 FP64 MACs take about 0.4 s
 * on one core. */
#define IOB_REF_FULL_MACS 400000000ULL
#define IOB_REF_SAMPLES 20000

/* Generator streams: the input and the filter draw from different streams of the same seed. */
enum { IOB_STREAM_INPUT = 1, IOB_STREAM_FILTER = 2 };

/* Fills buf[0..n) with values in (-1, 1) that are never 0: value i is a function of
 * (seed, stream, i) only (a counter-based SplitMix64 hash), so the result does not depend on the
 * number of threads. Every value is (2m + 1 - 2^24) / 2^24 for an integer m in [0, 2^24): exact
 * in FP32 and odd, hence non-zero. */
void iob_ref_fill(float *buf, size_t n, uint64_t seed, uint32_t stream);

/* One output element y[n][k][p][q] of a finished layer in FP64, from x (N,C,H,W) and w
 * (K,C/G,R,S), NCHW-contiguous. Returns the sum over the taps that fall on real input elements;
 * *abs_sum (if not NULL) gets sum |x * w| over the same taps. */
double iob_ref_output(const iob_layer *L, const float *x, const float *w, int64_t n, int64_t k,
                      int64_t p, int64_t q, double *abs_sum);

/* The reference values of the checked outputs. index == NULL means every output, in order. */
typedef struct iob_ref {
    int64_t count;
    int64_t *index;   /* flat (n,k,p,q) indices, ascending, or NULL */
    double *value;    /* count entries */
    double *abs_sum;  /* count entries: the metric's denominators (before eps) */
} iob_ref;

/* Samples to use for a layer when the caller asked for `requested` (0 = automatic): 0 (all
 * outputs) when the layer is small (IOB_REF_FULL_MACS) or requested >= the output count. */
int64_t iob_ref_samples_for(const iob_layer *L, int64_t requested);

/* Computes the reference of every output (samples = 0) or of `samples` distinct outputs drawn
 * from seed, always including the first and the last element. OpenMP-parallel over outputs.
 * IOB_ENOMEM when the host arrays cannot be allocated. The caller frees with iob_ref_free. */
iob_status iob_ref_compute(const iob_layer *L, const float *x, const float *w, int64_t samples,
                           uint64_t seed, iob_ref *ref, iob_error *err);
void iob_ref_free(iob_ref *ref);

/* err() above for one element. */
double iob_ref_rel_err(double got, double want, double abs_sum);

/* What a comparison found. */
typedef struct iob_check {
    int64_t checked;          /* elements compared with the reference */
    double max_rel_err;       /* over them (metric above) */
    int64_t worst;            /* flat index of the worst one (-1: none) */
    double worst_got, worst_want;
    int64_t unwritten;        /* elements of y that still hold IOB_POISON_BITS */
    int64_t first_unwritten;  /* flat index, -1 if none */
    int64_t nonfinite;        /* other NaN or infinite elements */
    int64_t first_nonfinite;
} iob_check;

/* Scans all y_elems elements of y (host copy of the output) for the poison pattern and for
 * non-finite values, and compares the reference's elements with y. */
void iob_ref_check(const iob_ref *ref, const float *y, int64_t y_elems, iob_check *chk);

/* The comparison part of iob_ref_check for values gathered on the device: vals[i] is the
 * output at ref->index[i]. Sets checked, max_rel_err, worst, worst_got, worst_want only (the
 * scan's fields are the caller's). */
void iob_ref_check_gathered(const iob_ref *ref, const float *vals, iob_check *chk);

/* Largest err() between two outputs a and b over the reference's elements, the denominators
 * taken from the reference (used to compare our output with cuDNN's). */
double iob_ref_compare(const iob_ref *ref, const float *a, const float *b);

/* Turns a check into a status: IOB_ECHECK naming the first unwritten or non-finite element as
 * (n,k,p,q), or the worst element when max_rel_err > tolerance; IOB_OK otherwise. `what` names
 * the kernel or algorithm in the message. */
iob_status iob_ref_verdict(const iob_layer *L, const iob_check *chk, double tolerance,
                           const char *what, iob_error *err);

#endif
