/* tune_internal.h - helpers the tuner's files share (not installed). */
#ifndef IOB_TUNE_INTERNAL_H
#define IOB_TUNE_INTERNAL_H

#include <string.h>

#include "gpu/host_kernels.h"
#include "iobound/tune.h"

/* Copies src into dst[size], cutting it at size-1 bytes (messages are one line; a cut tail is
 * acceptable where a fixed-size record field holds it). */
static inline void iob_tune_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Seconds on opts' clock (CLOCK_MONOTONIC when opts or its clock is NULL). */
double iob_tune_now(const iob_tune_opts *opts);

/* Measures cfg, through memo when it is not NULL (a config already in memo is not measured
 * again; a new result is added). Returns the measurer's own status: non-OK means it stopped. */
iob_status iob_tune_measure(const iob_measurer *meas, const iob_layer *layer,
                            const iob_config *cfg, iob_tune_memo *memo, iob_tune_meas *out,
                            iob_error *err);

/* Resets res for a search over space. */
void iob_tune_result_start(iob_tune_result *res, const iob_tune_space *space);
/* Counts one measurement of candidate c into res (best, failures). */
void iob_tune_result_add(iob_tune_result *res, const iob_tune_cand *c, const iob_tune_meas *m);
/* Marks res stopped with the measurer's message. */
void iob_tune_result_stop(iob_tune_result *res, const iob_error *why);

/* Measures s->cands[order[0]], ..., s->cands[order[n-1]] into res (started by the caller),
 * stopping when the measurer stops; sets res->tune_s. IOB_ENOMEM only. */
iob_status iob_tune_measure_list(const iob_tune_space *s, const iob_layer *layer,
                                 const iob_measurer *meas, const size_t *order, size_t n,
                                 iob_tune_memo *memo, iob_tune_result *res, iob_error *err);
/* order[j] = position in s->cands of the j-th config in enumeration order; malloc'ed (NULL when
 * out of memory). */
size_t *iob_tune_enum_order(const iob_tune_space *s);

/* FNV-1a 64 over name, NUL, text, NUL of each file, as 16 hex digits (iob_tune_kernel_hash
 * applies it to the embedded table). */
void iob_tune_hash_files(const iob_kernel_file *files, int n, char out[17]);

#endif
