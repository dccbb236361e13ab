/* random.c - random search, the model-free baseline of the tuner: the same number of measurements
 * as the bound-guided search, drawn uniformly without replacement from the whole feasible space.
 *
 * Order: a partial Fisher-Yates shuffle of the configs in enumeration order, driven by splitmix64
 * (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) from the
 * seed, with rejection sampling for an unbiased index; the same seed gives the same configs on
 * every platform. */
#include <stdlib.h>
#include <string.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1: reject the top partial block of 2^64 so every value is equally
 * likely. */
static uint64_t uniform_below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = splitmix64(state);
    while (x >= limit);
    return x % n;
}

iob_status iob_tune_random(const iob_tune_space *s, const iob_layer *L, const iob_measurer *meas,
                           size_t budget, uint64_t seed, iob_tune_memo *memo,
                           iob_tune_result *res, iob_error *err)
{
    iob_tune_result_start(res, s);
    if (budget > s->count)
        budget = s->count;
    res->budget = budget;
    size_t *order = iob_tune_enum_order(s);
    if (!order)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu configs", s->count);
    /* the draw depends only on the seed and the space, never on measured outcomes */
    uint64_t state = seed;
    for (size_t j = 0; j < budget; j++) {
        size_t r = j + (size_t)uniform_below(&state, (uint64_t)(s->count - j));
        size_t tmp = order[j];
        order[j] = order[r];
        order[r] = tmp;
    }
    iob_status rc = iob_tune_measure_list(s, L, meas, order, budget, memo, res, err);
    free(order);
    return rc;
}
