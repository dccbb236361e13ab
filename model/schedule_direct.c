/* schedule_direct.c - the best explicit schedule of a simple family of direct-convolution
 * schedules on the bound's own machine: an upper bound on the least SM<->L2 traffic any schedule
 * needs, to set beside the lower bound (docs/bounds.md, "How tight the bound is").
 *
 * The machine is the bound's: processors with S words of fast memory each and nothing else (no
 * register file, no sectors, no threads). The family: output tiles of tk channels x tn images x
 * tp x tq pixels whose accumulators stay resident while the input channels stream through in
 * chunks of tc; per chunk the tile's receptive field (its input elements inside the image) and
 * its filter slice are loaded, used and dropped, so a tile needs
 *     tk*tn*tp*tq + tc*tn*ih*iw + tk*tc*R*S  <=  S  words      (ih x iw: the receptive field)
 * and moves C/tc chunks of (receptive field + filter slice) plus its outputs, stored once. Tiles
 * are independent, so any assignment to processors is a valid red-blue pebble schedule with that
 * traffic: the family's best is an upper bound on the optimum, and
 *     bound <= least possible <= best of the family.
 *
 * Tile sides: every value up to 64 and the extent itself (tp, tq); powers of two and the extent
 * (tk, tn, tc). Counts in closed form per block row and column: the in-image rows and columns of
 * its receptive field, summed over the blocks of an axis.
 */
#include <string.h>

#include "iobound/bound.h"
#include "model/checked.h"

/* The enumeration visits every block of an axis for every tile side: refuse axes longer than this
 * rather than take minutes (no real layer comes near it). */
#define AXIS_MAX 65536

/* Sum over the blocks of t outputs along one axis of the in-image input elements each block's
 * receptive field covers (a strided or dilated field is sparse: only the taps' positions). */
static double axis_inputs(int64_t out, int64_t in, int64_t t, int64_t stride, int64_t dil,
                          int64_t taps, int64_t pad)
{
    double sum = 0;
    int sparse = dil > 1 || stride > taps * dil;
    for (int64_t b0 = 0; b0 < out; b0 += t) {
        int64_t b1 = b0 + t < out ? b0 + t : out;
        int64_t lo = b0 * stride - pad, hi = (b1 - 1) * stride - pad + (taps - 1) * dil;
        if (sparse) {
            int64_t n = 0;
            for (int64_t x = lo < 0 ? 0 : lo; x <= hi && x < in; x++) {
                int hit = 0;
                for (int64_t o = b0; o < b1 && !hit; o++) {
                    int64_t d = x - (o * stride - pad); /* a tap r with r * dil == d */
                    hit = d >= 0 && d % dil == 0 && d / dil < taps;
                }
                n += hit;
            }
            sum += (double)n;
        } else {
            lo = lo < 0 ? 0 : lo;
            hi = hi >= in ? in - 1 : hi;
            sum += hi >= lo ? (double)(hi - lo + 1) : 0;
        }
    }
    return sum;
}

static int side_values(int64_t extent, int64_t *v)
{
    int n = 0;
    for (int64_t x = 1; x <= 64 && x < extent; x++)
        v[n++] = x;
    v[n++] = extent;
    return n;
}

static int pow2_values(int64_t extent, int64_t *v)
{
    int n = 0;
    for (int64_t x = 1; x < extent; x *= 2)
        v[n++] = x;
    v[n++] = extent;
    return n;
}

iob_status iob_schedule_direct(const iob_layer *L, double s_words, iob_schedule *out,
                               iob_error *err)
{
    memset(out, 0, sizeof *out);
    if (!(s_words >= 3))
        return iob_error_set(err, IOB_ERANGE, "fast memory S=%g words: at least 3 are needed",
                             s_words);
    if (L->p > AXIS_MAX || L->q > AXIS_MAX)
        return iob_error_set(err, IOB_ERANGE, "output %lldx%lld: the schedule enumeration "
                             "handles sides up to %d", (long long)L->p, (long long)L->q,
                             AXIS_MAX);
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    int64_t tpv[66], tqv[66], tkv[64], tnv[64], tcv[64];
    int ntp = side_values(L->p, tpv), ntq = side_values(L->q, tqv);
    int ntk = pow2_values(kg, tkv), ntn = pow2_values(L->n, tnv), ntc = pow2_values(cg, tcv);
    double outputs = (double)L->n * (double)L->k * (double)L->p * (double)L->q;
    double taps = (double)L->r * (double)L->s;
    int found = 0;
    for (int a = 0; a < ntp; a++) {
        int64_t tp = tpv[a];
        double rows = axis_inputs(L->p, L->h, tp, L->stride_h, L->dil_h, L->r, L->pad_top);
        double ih = (double)((tp - 1) * L->stride_h + (L->r - 1) * L->dil_h + 1);
        for (int b = 0; b < ntq; b++) {
            int64_t tq = tqv[b];
            double cols = axis_inputs(L->q, L->w, tq, L->stride_w, L->dil_w, L->s, L->pad_left);
            double iw = (double)((tq - 1) * L->stride_w + (L->s - 1) * L->dil_w + 1);
            double pq_blocks = (double)iob_ceil_div(L->p, tp) * (double)iob_ceil_div(L->q, tq);
            for (int d = 0; d < ntk; d++)
                for (int e = 0; e < ntn; e++)
                    for (int f = 0; f < ntc; f++) {
                        double tk = (double)tkv[d], tn = (double)tnv[e], tc = (double)tcv[f];
                        if (tk * tn * (double)tp * (double)tq + tc * tn * ih * iw +
                                tk * tc * taps > s_words)
                            continue;
                        /* every (group, k-block) reads every image's receptive fields of the
                         * group's channels; every (group, n-block, p-block, q-block) reads the
                         * group's whole filter */
                        double in = (double)L->groups * (double)iob_ceil_div(kg, tkv[d]) *
                                    (double)L->n * (double)cg * rows * cols;
                        double filt = (double)L->groups * (double)iob_ceil_div(L->n, tnv[e]) *
                                      pq_blocks * (double)kg * (double)cg * taps;
                        double words = in + filt + outputs;
                        if (!found || words < out->words) {
                            found = 1;
                            *out = (iob_schedule){words, in, filt, outputs, tkv[d], tnv[e], tp,
                                                  tq, tcv[f]};
                        }
                    }
        }
    }
    if (!found)
        return iob_error_set(err, IOB_ERANGE, "no tile of the schedule family fits S=%.0f words "
                             "(one output's receptive field and filter need %.0f)", s_words,
                             1 + (double)((L->r - 1) * L->dil_h + 1) *
                                     (double)((L->s - 1) * L->dil_w + 1) + taps);
    return IOB_OK;
}
