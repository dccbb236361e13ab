/* checked.h - 64-bit arithmetic that reports overflow instead of wrapping (internal). */
#ifndef IOB_CHECKED_H
#define IOB_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* Each returns true when the exact result does not fit; *out is then unspecified. */
static inline bool iob_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool iob_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline bool iob_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool iob_add_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* Product of n factors; true on overflow. */
static inline bool iob_prod_overflow_u64(const uint64_t *f, int n, uint64_t *out)
{
    uint64_t acc = 1;
    for (int i = 0; i < n; i++)
        if (iob_mul_overflow_u64(acc, f[i], &acc))
            return true;
    *out = acc;
    return false;
}

static inline int64_t iob_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t iob_floor_div(int64_t a, int64_t b) /* b > 0, any sign of a */
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t iob_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t iob_max64(int64_t a, int64_t b) { return a > b ? a : b; }

#endif
