/* bound.c - algorithm names, options and the dispatch of iob_bound_layer() to the per-algorithm
 * files (direct.c, winograd.c, im2col.c, im2win.c, gemm.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/bound_common.h"

static const char *const algo_names[IOB_ALGO_COUNT] = {
    "direct", "winograd", "im2col", "im2win", "gemm", "winograd-nonfused"};

const char *iob_algo_name(iob_algo algo)
{
    return (unsigned)algo < IOB_ALGO_COUNT ? algo_names[algo] : "unknown";
}

iob_status iob_algo_parse(const char *name, iob_algo *algo, iob_error *err)
{
    for (int i = 0; i < IOB_ALGO_COUNT; i++)
        if (!strcmp(name, algo_names[i])) {
            *algo = (iob_algo)i;
            return IOB_OK;
        }
    return iob_error_set(err, IOB_EINVAL,
                         "unknown algorithm '%s' (known: direct, winograd, im2col, im2win, gemm, "
                         "winograd-nonfused)",
                         name);
}

iob_bound_opts iob_bound_opts_for(const iob_machine *m, int elem_bytes)
{
    iob_bound_opts o;
    o.elem_bytes = elem_bytes;
    o.s_words = (double)(iob_machine_fast_bytes(m) / elem_bytes);
    o.processors = m->sm_count;
    return o;
}

iob_status iob_bound_opts_check(const iob_bound_opts *o, iob_error *err)
{
    /* One multiply-add needs its three operands in fast memory at once. */
    if (!(o->s_words >= 3))
        return iob_error_set(err, IOB_ERANGE, "fast memory S=%g words: at least 3 are needed "
                             "(one multiply-add holds three operands)", o->s_words);
    if (o->processors < 1)
        return iob_error_set(err, IOB_ERANGE, "processors=%d: must be at least 1", o->processors);
    if (o->elem_bytes < 1)
        return iob_error_set(err, IOB_ERANGE, "element size %d: must be positive", o->elem_bytes);
    return IOB_OK;
}

void iob_bound_start(iob_bound *out, iob_algo algo, const char *variant,
                     const iob_bound_opts *opts)
{
    memset(out, 0, sizeof *out);
    out->algo = algo;
    snprintf(out->variant, sizeof out->variant, "%s", variant);
    out->applicable = 1;
    out->elem_bytes = opts->elem_bytes;
    out->s_words = opts->s_words;
    out->processors = opts->processors;
    out->rho = 1;
}

void iob_bound_not_applicable(iob_bound *out, const char *fmt, ...)
{
    out->applicable = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

void iob_bound_add_term(iob_bound *out, const char *name, double ops, double compulsory,
                        double bound)
{
    if (out->nterms >= IOB_BOUND_TERMS_MAX)
        return;
    iob_bound_term *t = &out->terms[out->nterms++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ops = ops;
    t->compulsory = compulsory;
    t->bound = bound;
}

void iob_bound_finish_pebble(iob_bound *out, const iob_pebble *pb_in)
{
    iob_pebble pb_copy = *pb_in, *pb = &pb_copy;
    if (pb->floor <= 0)
        pb->floor = out->compulsory;
    iob_pebble_result r = iob_pebble_bound(pb, out->s_words, out->processors);
    out->ops = pb->ops;
    out->rho = pb->rho;
    out->leading = r.leading;
    out->reuse = r.one;
    out->reuse_gpu = r.gpu;
    out->segment_loads = r.t_one;
    out->bound = fmax(out->compulsory, out->reuse);
    out->bound_gpu = fmax(out->compulsory, out->reuse_gpu);
    snprintf(out->dominant, sizeof out->dominant, "%s",
             out->reuse_gpu > out->compulsory ? "reuse" : "compulsory");
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

double iob_axis_reuse(int64_t taps, int64_t stride, int64_t dil)
{
    int64_t period = stride / gcd64(dil, stride); /* taps t, t+period read one lattice */
    return (double)((taps + period - 1) / period);
}

iob_status iob_bound_layer(const iob_layer *L, iob_algo algo, const iob_bound_opts *opts,
                           iob_bound *out, int max_out, int *count, iob_error *err)
{
    *count = 0;
    iob_status st = iob_bound_opts_check(opts, err);
    if (st)
        return st;
    if (max_out < 1)
        return iob_error_set(err, IOB_EINVAL, "no room for a bound");
    switch (algo) {
    case IOB_ALGO_DIRECT:
        st = iob_bound_direct(L, opts, out, err);
        *count = st ? 0 : 1;
        return st;
    case IOB_ALGO_IM2COL:
        st = iob_bound_im2col(L, opts, out, err);
        *count = st ? 0 : 1;
        return st;
    case IOB_ALGO_IM2WIN:
        st = iob_bound_im2win(L, opts, out, err);
        *count = st ? 0 : 1;
        return st;
    case IOB_ALGO_GEMM: {
        iob_bound_start(out, IOB_ALGO_GEMM, "GEMM", opts);
        if (L->r != 1 || L->s != 1 || L->stride_h != 1 || L->stride_w != 1 || L->pad_top ||
            L->pad_bottom || L->pad_left || L->pad_right) {
            iob_bound_not_applicable(out, "only a 1x1, stride-1, unpadded layer is a GEMM "
                                          "(im2col shows the GEMM of the unfolded input)");
            *count = 1;
            return IOB_OK;
        }
        uint64_t m, n, k, b;
        iob_layer_gemm_shape(L, &m, &n, &k, &b);
        st = iob_bound_gemm(m, n, k, b, opts, out, err);
        *count = st ? 0 : 1;
        return st;
    }
    case IOB_ALGO_WINOGRAD: {
        static const int ms[3] = {2, 4, 6};
        for (int i = 0; i < 3; i++)
            for (int fused = 1; fused >= 0; fused--) {
                if (*count >= max_out)
                    return IOB_OK;
                st = iob_bound_winograd(L, ms[i], fused, opts, &out[*count], err);
                if (st)
                    return st;
                (*count)++;
                if (!out[*count - 1].applicable) /* the reason is the same for every variant */
                    return IOB_OK;
            }
        return IOB_OK;
    }
    case IOB_ALGO_WINOGRAD_NONFUSED: /* the kernels' run: stored, U made beforehand; m = 2, 4 */
        for (int m = 2; m <= 4 && *count < max_out; m += 2) {
            if ((st = iob_bound_winograd(L, m, IOB_WINO_U_PREPARED, opts, &out[*count], err)))
                return st;
            out[(*count)++].algo = IOB_ALGO_WINOGRAD_NONFUSED;
            if (!out[*count - 1].applicable)
                return IOB_OK;
        }
        return IOB_OK;
    default:
        return iob_error_set(err, IOB_EINVAL, "unknown algorithm %d", (int)algo);
    }
}
