/* bound_common.h - helpers the per-algorithm bound files share (internal to model/). */
#ifndef IOB_MODEL_BOUND_COMMON_H
#define IOB_MODEL_BOUND_COMMON_H

#include "iobound/bound.h"
#include "model/pebble.h"

/* Resets out for algo/variant with the options' S, P and element size. */
void iob_bound_start(iob_bound *out, iob_algo algo, const char *variant,
                     const iob_bound_opts *opts);
/* Marks out as not applicable with a reason (printf-style). */
void iob_bound_not_applicable(iob_bound *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Fills leading, reuse, reuse_gpu, bound, bound_gpu, dominant and segment_loads of out from a
 * pebble problem and out->compulsory. */
void iob_bound_finish_pebble(iob_bound *out, const iob_pebble *pb);
/* Appends a sub-computation term. */
void iob_bound_add_term(iob_bound *out, const char *name, double ops, double compulsory,
                        double bound);
/* Reuse along one axis: the most taps that read one input position,
 * ceil(taps / (stride / gcd(dil, stride))) (docs/bounds.md, Lemma 3). */
double iob_axis_reuse(int64_t taps, int64_t stride, int64_t dil);

#endif
