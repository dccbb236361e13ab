/* layer.c - layer specs: the key=value grammar, defaults, validation, output size and the exact
 * counts (MACs, useful MACs, compulsory elements) every later stage starts from.
 *
 * Output size per axis (PyTorch's and cuDNN's convention):
 *   P = floor((H + pad_top + pad_bottom - (dil_h*(R-1) + 1)) / stride_h) + 1
 * pad=same (TensorFlow's convention): P = ceil(H / stride_h), total padding
 *   max((P-1)*stride_h + dil_h*(R-1) + 1 - H, 0), the odd pixel at the bottom/right.
 */
#include "iobound/layer.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model/checked.h"

/* Largest filter side: iob_axis_used() sorts one entry per tap, and no real network comes
 * near it (the largest filter in convbench-2000.csv is 31). */
#define IOB_TAPS_MAX 65536

enum {
    GIVEN_N = 1u << 0, GIVEN_C = 1u << 1, GIVEN_H = 1u << 2, GIVEN_W = 1u << 3,
    GIVEN_K = 1u << 4, GIVEN_R = 1u << 5, GIVEN_S = 1u << 6, GIVEN_P = 1u << 7,
    GIVEN_Q = 1u << 8, GIVEN_NAME = 1u << 9
};

void iob_layer_init(iob_layer *layer)
{
    memset(layer, 0, sizeof *layer);
    layer->n = 1;
    layer->stride_h = layer->stride_w = 1;
    layer->dil_h = layer->dil_w = 1;
    layer->groups = 1;
}

/* Strict non-negative decimal integer: digits only (surrounding blanks allowed), at most
 * IOB_DIM_MAX. Negative numbers are recognised so that the message can say "must be >= 0". */
static iob_status parse_int(const char *key, const char *value, int64_t *out, iob_error *err)
{
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    int negative = 0;
    if (*p == '-' || *p == '+') {
        negative = *p == '-';
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return iob_error_set(err, IOB_EINVAL, "%s=%s: not a whole number", key, value);
    int64_t v = 0;
    int too_big = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (IOB_DIM_MAX - (*p - '0')) / 10)
            too_big = 1;
        else
            v = v * 10 + (*p - '0');
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return iob_error_set(err, IOB_EINVAL, "%s=%s: not a whole number", key, value);
    if (negative && (v != 0 || too_big))
        return iob_error_set(err, IOB_EINVAL, "%s=%s: must not be negative", key, value);
    if (too_big)
        return iob_error_set(err, IOB_ERANGE, "%s=%s: larger than the supported maximum %lld",
                             key, value, (long long)IOB_DIM_MAX);
    *out = v;
    return IOB_OK;
}

static int is_same(const char *value)
{
    while (isspace((unsigned char)*value))
        value++;
    size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1]))
        n--;
    return n == 4 && strncmp(value, "same", 4) == 0;
}

iob_status iob_layer_set(iob_layer *L, const char *key, const char *value, iob_error *err)
{
    if (strcmp(key, "name") == 0) {
        size_t n = strlen(value);
        if (n >= IOB_NAME_MAX)
            return iob_error_set(err, IOB_EINVAL, "name=%.40s...: longer than %d characters",
                                 value, IOB_NAME_MAX - 1);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)value[i] < 0x20 || value[i] == ',' || value[i] == '=')
                return iob_error_set(err, IOB_EINVAL,
                                     "name=%s: contains a control character, ',' or '='", value);
        memcpy(L->name, value, n + 1);
        L->given |= GIVEN_NAME;
        return IOB_OK;
    }
    int pad_key = strcmp(key, "pad") == 0, pad_h_key = strcmp(key, "pad_h") == 0,
        pad_w_key = strcmp(key, "pad_w") == 0;
    if ((pad_key || pad_h_key || pad_w_key) && is_same(value)) {
        if (pad_key || pad_h_key)
            L->pad_same_h = 1;
        if (pad_key || pad_w_key)
            L->pad_same_w = 1;
        return IOB_OK;
    }

    static const struct {
        const char *key;
        uint32_t given;
    } keys[] = {
        {"n", GIVEN_N}, {"c", GIVEN_C}, {"h", GIVEN_H}, {"w", GIVEN_W}, {"k", GIVEN_K},
        {"r", GIVEN_R}, {"s", GIVEN_S}, {"p", GIVEN_P}, {"q", GIVEN_Q},
        {"stride", 0}, {"stride_h", 0}, {"stride_w", 0},
        {"pad", 0}, {"pad_h", 0}, {"pad_w", 0},
        {"pad_top", 0}, {"pad_bottom", 0}, {"pad_left", 0}, {"pad_right", 0},
        {"dilation", 0}, {"dil", 0}, {"dil_h", 0}, {"dil_w", 0}, {"groups", 0},
    };
    size_t i;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i].key) == 0)
            break;
    if (i == sizeof keys / sizeof keys[0])
        return iob_error_set(err, IOB_EINVAL,
                             "unknown key '%s' (known: name n c h w k r s stride[_h|_w] "
                             "pad[_h|_w|_top|_bottom|_left|_right] dilation dil_h dil_w groups p q)",
                             key);
    int64_t v = 0;
    iob_status st = parse_int(key, value, &v, err);
    if (st)
        return st;
    L->given |= keys[i].given;
    const char *k = key;
    if (!strcmp(k, "n")) L->n = v;
    else if (!strcmp(k, "c")) L->c = v;
    else if (!strcmp(k, "h")) L->h = v;
    else if (!strcmp(k, "w")) L->w = v;
    else if (!strcmp(k, "k")) L->k = v;
    else if (!strcmp(k, "r")) L->r = v;
    else if (!strcmp(k, "s")) L->s = v;
    else if (!strcmp(k, "p")) L->p = v;
    else if (!strcmp(k, "q")) L->q = v;
    else if (!strcmp(k, "stride")) L->stride_h = L->stride_w = v;
    else if (!strcmp(k, "stride_h")) L->stride_h = v;
    else if (!strcmp(k, "stride_w")) L->stride_w = v;
    else if (!strcmp(k, "pad")) {
        L->pad_top = L->pad_bottom = L->pad_left = L->pad_right = v;
        L->pad_same_h = L->pad_same_w = 0;
    } else if (!strcmp(k, "pad_h")) {
        L->pad_top = L->pad_bottom = v;
        L->pad_same_h = 0;
    } else if (!strcmp(k, "pad_w")) {
        L->pad_left = L->pad_right = v;
        L->pad_same_w = 0;
    } else if (!strcmp(k, "pad_top")) { L->pad_top = v; L->pad_same_h = 0; }
    else if (!strcmp(k, "pad_bottom")) { L->pad_bottom = v; L->pad_same_h = 0; }
    else if (!strcmp(k, "pad_left")) { L->pad_left = v; L->pad_same_w = 0; }
    else if (!strcmp(k, "pad_right")) { L->pad_right = v; L->pad_same_w = 0; }
    else if (!strcmp(k, "dilation") || !strcmp(k, "dil")) L->dil_h = L->dil_w = v;
    else if (!strcmp(k, "dil_h")) L->dil_h = v;
    else if (!strcmp(k, "dil_w")) L->dil_w = v;
    else if (!strcmp(k, "groups")) L->groups = v;
    return IOB_OK;
}

iob_status iob_layer_parse(const char *spec, iob_layer *layer, iob_error *err)
{
    iob_layer_init(layer);
    if (!spec)
        return iob_error_set(err, IOB_EINVAL, "empty layer spec");
    const char *p = spec;
    int pairs = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char tok[512];
        if (len >= sizeof tok)
            return iob_error_set(err, IOB_EINVAL, "layer spec item '%.40s...' is too long", p);
        memcpy(tok, p, len);
        tok[len] = '\0';
        char *eq = strchr(tok, '=');
        /* trim blanks around the key */
        char *key = tok;
        while (isspace((unsigned char)*key))
            key++;
        if (!eq) {
            if (*key == '\0' && !end) /* a trailing comma */
                break;
            return iob_error_set(err, IOB_EINVAL,
                                 "layer spec item '%s' is not key=value (spec: %s)", tok, spec);
        }
        *eq = '\0';
        char *kend = eq;
        while (kend > key && isspace((unsigned char)kend[-1]))
            *--kend = '\0';
        char *value = eq + 1;
        if (*key == '\0')
            return iob_error_set(err, IOB_EINVAL, "layer spec item '=%s' has no key", value);
        iob_status st = iob_layer_set(layer, key, value, err);
        if (st)
            return st;
        pairs++;
        if (!end)
            break;
        p = end + 1;
    }
    if (pairs == 0)
        return iob_error_set(err, IOB_EINVAL, "empty layer spec");
    return iob_layer_finish(layer, err);
}

/* Output size along one axis, or -1 when the dilated kernel is larger than the padded input. */
static int64_t out_size(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t taps, int64_t stride,
                        int64_t dil)
{
    int64_t extent = dil * (taps - 1) + 1; /* fits: both factors <= 2^31 */
    int64_t padded = in + pad_lo + pad_hi;
    if (extent > padded)
        return -1;
    return (padded - extent) / stride + 1;
}

static void resolve_same(int64_t in, int64_t taps, int64_t stride, int64_t dil, int64_t *lo,
                         int64_t *hi)
{
    int64_t out = (in + stride - 1) / stride;
    int64_t total = (out - 1) * stride + dil * (taps - 1) + 1 - in;
    if (total < 0)
        total = 0;
    *lo = total / 2;
    *hi = total - *lo;
}

iob_status iob_layer_finish(iob_layer *L, iob_error *err)
{
    static const struct {
        uint32_t bit;
        const char *key, *what;
    } required[] = {
        {GIVEN_C, "c", "input channels"},
        {GIVEN_H, "h", "input height"},
        {GIVEN_K, "k", "output channels"},
        {GIVEN_R, "r", "filter height"},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(L->given & required[i].bit))
            return iob_error_set(err, IOB_EINVAL, "missing key '%s' (%s)", required[i].key,
                                 required[i].what);
    if (!(L->given & GIVEN_W))
        L->w = L->h;
    if (!(L->given & GIVEN_S))
        L->s = L->r;

    const struct {
        const char *key;
        int64_t v;
    } positive[] = {
        {"n", L->n}, {"c", L->c}, {"h", L->h}, {"w", L->w}, {"k", L->k}, {"r", L->r},
        {"s", L->s}, {"stride_h", L->stride_h}, {"stride_w", L->stride_w},
        {"dil_h", L->dil_h}, {"dil_w", L->dil_w}, {"groups", L->groups},
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (positive[i].v < 1)
            return iob_error_set(err, IOB_EINVAL, "%s=%lld: must be at least 1", positive[i].key,
                                 (long long)positive[i].v);
    if (L->r > IOB_TAPS_MAX || L->s > IOB_TAPS_MAX)
        return iob_error_set(err, IOB_ERANGE, "%s=%lld: larger than the largest supported filter "
                             "side %d", L->r > IOB_TAPS_MAX ? "r" : "s",
                             (long long)(L->r > IOB_TAPS_MAX ? L->r : L->s), IOB_TAPS_MAX);
    if (L->c % L->groups)
        return iob_error_set(err, IOB_EINVAL, "groups=%lld does not divide c=%lld",
                             (long long)L->groups, (long long)L->c);
    if (L->k % L->groups)
        return iob_error_set(err, IOB_EINVAL, "groups=%lld does not divide k=%lld",
                             (long long)L->groups, (long long)L->k);
    if (L->pad_same_h)
        resolve_same(L->h, L->r, L->stride_h, L->dil_h, &L->pad_top, &L->pad_bottom);
    if (L->pad_same_w)
        resolve_same(L->w, L->s, L->stride_w, L->dil_w, &L->pad_left, &L->pad_right);
    L->pad_same_h = L->pad_same_w = 0;

    int64_t p = out_size(L->h, L->pad_top, L->pad_bottom, L->r, L->stride_h, L->dil_h);
    if (p < 0)
        return iob_error_set(err, IOB_EINVAL,
                             "r=%lld with dil_h=%lld spans %lld rows, more than the padded input "
                             "height %lld (h=%lld + pad_top=%lld + pad_bottom=%lld)",
                             (long long)L->r, (long long)L->dil_h,
                             (long long)(L->dil_h * (L->r - 1) + 1),
                             (long long)(L->h + L->pad_top + L->pad_bottom), (long long)L->h,
                             (long long)L->pad_top, (long long)L->pad_bottom);
    int64_t q = out_size(L->w, L->pad_left, L->pad_right, L->s, L->stride_w, L->dil_w);
    if (q < 0)
        return iob_error_set(err, IOB_EINVAL,
                             "s=%lld with dil_w=%lld spans %lld columns, more than the padded "
                             "input width %lld (w=%lld + pad_left=%lld + pad_right=%lld)",
                             (long long)L->s, (long long)L->dil_w,
                             (long long)(L->dil_w * (L->s - 1) + 1),
                             (long long)(L->w + L->pad_left + L->pad_right), (long long)L->w,
                             (long long)L->pad_left, (long long)L->pad_right);
    if ((L->given & GIVEN_P) && L->p != p)
        return iob_error_set(err, IOB_EINVAL, "declared p=%lld but the shape gives p=%lld",
                             (long long)L->p, (long long)p);
    if ((L->given & GIVEN_Q) && L->q != q)
        return iob_error_set(err, IOB_EINVAL, "declared q=%lld but the shape gives q=%lld",
                             (long long)L->q, (long long)q);
    L->p = p;
    L->q = q;
    L->given &= ~(uint32_t)(GIVEN_P | GIVEN_Q);

    iob_layer_counts counts;
    return iob_layer_counts_get(L, &counts, err);
}

int64_t iob_axis_tap_outputs(int64_t extent, int64_t out, int64_t tap, int64_t stride, int64_t dil,
                             int64_t pad)
{
    int64_t off = tap * dil - pad; /* x = o*stride + off must lie in [0, extent) */
    int64_t lo = off >= 0 ? 0 : iob_ceil_div(-off, stride);
    int64_t hi = iob_floor_div(extent - 1 - off, stride);
    if (hi > out - 1)
        hi = out - 1;
    return hi >= lo ? hi - lo + 1 : 0;
}

int64_t iob_axis_valid_taps(int64_t extent, int64_t out, int64_t taps, int64_t stride,
                            int64_t dil, int64_t pad)
{
    int64_t total = 0;
    for (int64_t t = 0; t < taps; t++)
        total += iob_axis_tap_outputs(extent, out, t, stride, dil, pad);
    return total;
}

/* Taps of one axis that reach a real input for at least one output. */
static int64_t axis_live_taps(int64_t extent, int64_t out, int64_t taps, int64_t stride,
                              int64_t dil, int64_t pad)
{
    int64_t n = 0;
    for (int64_t t = 0; t < taps; t++)
        n += iob_axis_tap_outputs(extent, out, t, stride, dil, pad) > 0;
    return n;
}

typedef struct {
    int64_t res, base; /* x = res + stride*(base + o), o in [0, out) */
} axis_run;

static int cmp_run(const void *a, const void *b)
{
    const axis_run *x = a, *y = b;
    if (x->res != y->res)
        return x->res < y->res ? -1 : 1;
    return (x->base > y->base) - (x->base < y->base);
}

int64_t iob_axis_used(int64_t extent, int64_t out, int64_t taps, int64_t stride, int64_t dil,
                      int64_t pad)
{
    /* Each tap t reads the lattice x = off_t + stride*o. Taps whose offsets agree modulo the
     * stride read the same lattice, shifted: within one residue class the union of the runs
     * [base, base+out) is merged, then clipped to the lattice points inside [0, extent). */
    axis_run stack_runs[64];
    axis_run *runs = taps <= 64 ? stack_runs : malloc((size_t)taps * sizeof *runs);
    if (!runs)
        return -1;
    for (int64_t t = 0; t < taps; t++) {
        int64_t off = t * dil - pad;
        int64_t res = ((off % stride) + stride) % stride;
        runs[t].res = res;
        runs[t].base = (off - res) / stride;
    }
    qsort(runs, (size_t)taps, sizeof *runs, cmp_run);
    int64_t used = 0;
    for (int64_t i = 0; i < taps;) {
        int64_t res = runs[i].res;
        int64_t jmax = res < extent ? (extent - 1 - res) / stride : -1; /* lattice j in [0,jmax] */
        int64_t cover_lo = 0, cover_hi = -1; /* current merged run, clipped later */
        for (; i < taps && runs[i].res == res; i++) {
            int64_t lo = runs[i].base, hi = runs[i].base + out - 1;
            if (cover_hi >= cover_lo && lo <= cover_hi + 1) {
                if (hi > cover_hi)
                    cover_hi = hi;
                continue;
            }
            if (cover_hi >= cover_lo) {
                int64_t a = iob_max64(cover_lo, 0), b = iob_min64(cover_hi, jmax);
                if (b >= a)
                    used += b - a + 1;
            }
            cover_lo = lo;
            cover_hi = hi;
        }
        if (cover_hi >= cover_lo) {
            int64_t a = iob_max64(cover_lo, 0), b = iob_min64(cover_hi, jmax);
            if (b >= a)
                used += b - a + 1;
        }
    }
    if (runs != stack_runs)
        free(runs);
    return used;
}

iob_status iob_layer_counts_get(const iob_layer *L, iob_layer_counts *c, iob_error *err)
{
    memset(c, 0, sizeof *c);
    uint64_t cg = (uint64_t)(L->c / L->groups);
    const char *what = NULL;
    uint64_t f_macs[] = {(uint64_t)L->n, (uint64_t)L->k, (uint64_t)L->p, (uint64_t)L->q, cg,
                         (uint64_t)L->r, (uint64_t)L->s};
    if (iob_prod_overflow_u64(f_macs, 7, &c->macs) ||
        iob_mul_overflow_u64(c->macs, 2, &c->flops))
        what = "FLOPs";
    uint64_t f_in[] = {(uint64_t)L->n, (uint64_t)L->c, (uint64_t)L->h, (uint64_t)L->w};
    if (!what && iob_prod_overflow_u64(f_in, 4, &c->input_elems))
        what = "input elements";
    uint64_t f_w[] = {(uint64_t)L->k, cg, (uint64_t)L->r, (uint64_t)L->s};
    if (!what && iob_prod_overflow_u64(f_w, 4, &c->weight_elems))
        what = "weight elements";
    uint64_t f_out[] = {(uint64_t)L->n, (uint64_t)L->k, (uint64_t)L->p, (uint64_t)L->q};
    if (!what && iob_prod_overflow_u64(f_out, 4, &c->output_elems))
        what = "output elements";
    if (what)
        return iob_error_set(err, IOB_ERANGE, "the layer's %s overflow 64 bits", what);

    int64_t used_h = iob_axis_used(L->h, L->p, L->r, L->stride_h, L->dil_h, L->pad_top);
    int64_t used_w = iob_axis_used(L->w, L->q, L->s, L->stride_w, L->dil_w, L->pad_left);
    if (used_h < 0 || used_w < 0)
        return iob_error_set(err, IOB_ENOMEM, "out of memory counting the used inputs");
    uint64_t f_used[] = {(uint64_t)L->n, (uint64_t)L->c, (uint64_t)used_h, (uint64_t)used_w};
    iob_prod_overflow_u64(f_used, 4, &c->input_used_elems); /* <= input_elems: cannot overflow */

    int64_t vt_h = iob_axis_valid_taps(L->h, L->p, L->r, L->stride_h, L->dil_h, L->pad_top);
    int64_t vt_w = iob_axis_valid_taps(L->w, L->q, L->s, L->stride_w, L->dil_w, L->pad_left);
    uint64_t f_useful[] = {(uint64_t)L->n, (uint64_t)L->k, cg, (uint64_t)vt_h, (uint64_t)vt_w};
    iob_prod_overflow_u64(f_useful, 5, &c->useful_macs); /* <= macs */

    int64_t live_r = axis_live_taps(L->h, L->p, L->r, L->stride_h, L->dil_h, L->pad_top);
    int64_t live_s = axis_live_taps(L->w, L->q, L->s, L->stride_w, L->dil_w, L->pad_left);
    uint64_t f_wu[] = {(uint64_t)L->k, cg, (uint64_t)live_r, (uint64_t)live_s};
    iob_prod_overflow_u64(f_wu, 4, &c->weight_used_elems); /* <= weight_elems */

    if (iob_add_overflow_u64(c->input_used_elems, c->weight_used_elems, &c->compulsory_elems) ||
        iob_add_overflow_u64(c->compulsory_elems, c->output_elems, &c->compulsory_elems))
        return iob_error_set(err, IOB_ERANGE, "the layer's compulsory traffic overflows 64 bits");
    /* Bytes are 4 per element for FP32; every later stage multiplies by 4, so check it here. */
    uint64_t bytes;
    if (iob_mul_overflow_u64(c->compulsory_elems, 8, &bytes) ||
        iob_mul_overflow_u64(c->macs, 8, &bytes))
        return iob_error_set(err, IOB_ERANGE, "the layer's byte counts overflow 64 bits");
    return IOB_OK;
}

int iob_layer_format(const iob_layer *L, char *buf, size_t size)
{
    char name[IOB_NAME_MAX + 8] = "";
    if (L->name[0])
        snprintf(name, sizeof name, "name=%s,", L->name);
    return snprintf(buf, size,
                    "%sn=%lld,c=%lld,h=%lld,w=%lld,k=%lld,r=%lld,s=%lld,stride_h=%lld,"
                    "stride_w=%lld,pad_top=%lld,pad_bottom=%lld,pad_left=%lld,pad_right=%lld,"
                    "dil_h=%lld,dil_w=%lld,groups=%lld",
                    name, (long long)L->n, (long long)L->c, (long long)L->h, (long long)L->w,
                    (long long)L->k, (long long)L->r, (long long)L->s, (long long)L->stride_h,
                    (long long)L->stride_w, (long long)L->pad_top, (long long)L->pad_bottom,
                    (long long)L->pad_left, (long long)L->pad_right, (long long)L->dil_h,
                    (long long)L->dil_w, (long long)L->groups);
}

iob_status iob_layer_finish_declared(iob_layer *L, int64_t *declared_p, int64_t *declared_q,
                                     iob_error *err)
{
    *declared_p = (L->given & GIVEN_P) ? L->p : 0;
    *declared_q = (L->given & GIVEN_Q) ? L->q : 0;
    L->given &= ~(uint32_t)(GIVEN_P | GIVEN_Q);
    return iob_layer_finish(L, err);
}

void iob_layer_list_free(iob_layer_list *list)
{
    free(list->items);
    for (size_t i = 0; i < list->nwarnings; i++)
        free(list->warnings[i]);
    free(list->warnings);
    memset(list, 0, sizeof *list);
}

iob_status iob_layer_list_push(iob_layer_list *list, const iob_layer *layer, iob_error *err)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        iob_layer *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return iob_error_set(err, IOB_ENOMEM, "out of memory storing %zu layers", cap);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = *layer;
    return IOB_OK;
}
