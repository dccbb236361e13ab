/* exhaustive.c - exhaustive search, the tuner's ground truth: every feasible config measured, in
 * enumeration order; the fastest one whose output check passed is the best there is. */
#include <stdlib.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

iob_status iob_tune_exhaustive(const iob_tune_space *s, const iob_layer *L,
                               const iob_measurer *meas, iob_tune_memo *memo,
                               iob_tune_result *res, iob_error *err)
{
    iob_tune_result_start(res, s);
    res->budget = s->count;
    size_t *order = iob_tune_enum_order(s);
    if (!order)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu configs", s->count);
    iob_status rc = iob_tune_measure_list(s, L, meas, order, s->count, memo, res, err);
    free(order);
    return rc;
}
