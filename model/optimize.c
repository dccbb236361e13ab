/* optimize.c - the continuous relaxation of the direct dataflow's tile (GSL's Nelder-Mead
 * minimiser, gsl_multimin_fminimizer_nmsimplex2) and the best integer configs around it
 * (docs/model.md, "The near-optimal tile").
 *
 * Relaxed traffic of a tile of tk output channels x tn images x tp x tq output pixels, the tile
 * sizes real (edge tiles ignored; a row of L floats costs L + 7, the mean sectors x 8 of a row at
 * a random residue), in floats, with B = (N/tn)(P/tp)(Q/tq)(K/tk) blocks and C = C/G:
 *     T = B tn C ((tp-1)sh+(R-1)dh+1) ((tq-1)sw+(S-1)dw+1 + 7)    input patches
 *       + B C R S (tk + 7)                                        filter slices
 *       + N K P (Q/tq) (tq + 7)                                   outputs
 * under  tk tn tp tq <= A  (the accumulators of a block: half of one SM's register file),
 *        2 (tn patch + R S tk) * 4 bytes <= shared memory per block (two stages of one channel),
 *        1 <= tk <= min(K/G, 256), 1 <= tp <= min(P, 32), 1 <= tq <= min(Q, Q <= 64 ? Q : 32),
 *        tn tp tq <= 512 (the bounds of the config space). The space has tn > 1 only for tiles
 *        of a whole image, so the minimiser runs twice: over (tk, tp, tq) with tn = 1, and over
 *        (tk, tn) with tp = P, tq = Q where those fit the space; the better one wins.
 * Without halos (R = S = 1) this is the GEMM tile problem: T ~ NPQKC (1/tk + 1/(tp tq)), optimal
 * at tk = tp tq = sqrt(A); with halos it is the seed paper's near-I/O-optimal tile
 * (I/O lower bounds for auto-tuning of convolutions in CNNs, PPoPP 2021: tile sides with
 * x y = z and x y z as large as the fast memory allows, here the register file).
 * The minimiser works on log tile sizes with quadratic penalties for the constraints.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>

#include "model/dataflow_algo.h"
#include "model/direct_model.h"

/* the bounds of the config space (model/direct.c, direct_candidates) */
#define SPACE_TK_MAX 256.0
#define SPACE_SIDE_MAX 32.0
#define SPACE_WHOLE_ROW_MAX 64.0
#define SPACE_PIXELS_MAX 512.0
#define SPACE_TN_MAX 16.0

typedef struct relax_problem {
    double n, c, k, p, q, r, s, sh, sw, dh, dw, kg;
    double acc_max, smem_floats;
    double q_max;  /* the largest tile_q of the space */
    int whole;     /* 0: variables (tk, tp, tq), tn = 1; 1: variables (tk, tn), tp = P, tq = Q */
} relax_problem;

/* A row of L floats at a uniformly random residue touches (L + 7) / 8 sectors on average. */
static double relaxed_floats(const relax_problem *P, const double t[4])
{
    double tk = t[0], tp = t[1], tq = t[2], tn = t[3];
    double ih = (tp - 1) * P->sh + (P->r - 1) * P->dh + 1;
    double iw = (tq - 1) * P->sw + (P->s - 1) * P->dw + 1;
    double blocks = (P->n / tn) * (P->p / tp) * (P->q / tq) * (P->k / tk);
    return blocks * tn * P->c * ih * (iw + 7) + blocks * P->c * P->r * P->s * (tk + 7) +
           P->n * P->k * P->p * (P->q / tq) * (tq + 7);
}

static double penalty(double excess_log) { return excess_log > 0 ? 1e3 * excess_log * excess_log : 0; }

/* The tile of a point of the minimiser (log sizes). */
static void tile_of(const relax_problem *P, const gsl_vector *u, double t[4])
{
    t[0] = exp(gsl_vector_get(u, 0));
    if (P->whole) {
        t[1] = P->p;
        t[2] = P->q;
        t[3] = exp(gsl_vector_get(u, 1));
    } else {
        t[1] = exp(gsl_vector_get(u, 1));
        t[2] = exp(gsl_vector_get(u, 2));
        t[3] = 1;
    }
}

static double relaxed_objective(const gsl_vector *u, void *params)
{
    const relax_problem *P = params;
    double t[4];
    tile_of(P, u, t);
    double lk = log(t[0]), lp = log(t[1]), lq = log(t[2]), ln = log(t[3]);
    double pen = penalty(-lk) + penalty(-lp) + penalty(-lq) + penalty(-ln) +
                 penalty(lk - log(P->kg)) + penalty(lp - log(P->p)) + penalty(lq - log(P->q)) +
                 penalty(ln - log(P->n)) + penalty(ln - log(SPACE_TN_MAX)) +
                 penalty(lk + ln + lp + lq - log(P->acc_max)) + penalty(lk - log(SPACE_TK_MAX)) +
                 penalty(lp - log(SPACE_SIDE_MAX)) + penalty(lq - log(P->q_max)) +
                 penalty(ln + lp + lq - log(SPACE_PIXELS_MAX));
    double patch = ((t[1] - 1) * P->sh + (P->r - 1) * P->dh + 1) *
                   ((t[2] - 1) * P->sw + (P->s - 1) * P->dw + 1);
    pen += penalty(log(2 * (t[3] * patch + P->r * P->s * t[0])) - log(P->smem_floats));
    /* relative scale: the traffic over the compulsory outputs, so penalties weigh alike */
    return relaxed_floats(P, t) / (P->n * P->k * P->p * P->q) * (1 + pen);
}

static relax_problem problem_of(const iob_layer *L, const iob_machine *m)
{
    relax_problem P = {
        (double)L->n, (double)(L->c / L->groups), (double)L->k, (double)L->p, (double)L->q,
        (double)L->r, (double)L->s, (double)L->stride_h, (double)L->stride_w, (double)L->dil_h,
        (double)L->dil_w, (double)(L->k / L->groups), (double)m->regs_per_sm / 2,
        (double)m->smem_per_block / 4,
        L->q <= SPACE_WHOLE_ROW_MAX ? (double)L->q
                                    : SPACE_SIDE_MAX,
        0,
    };
    return P; /* c is C/G: each output channel reads C/G input channels */
}

double iob_direct_relax_floats(const iob_layer *L, const iob_machine *m, const double tile[4])
{
    relax_problem P = problem_of(L, m);
    return relaxed_floats(&P, tile);
}

/* One run of the minimiser; t gets the optimum, the return value its objective (HUGE_VAL when
 * out of memory). */
static double minimise(relax_problem *P, double t[4])
{
    size_t dim = P->whole ? 2 : 3;
    gsl_multimin_function f = {relaxed_objective, dim, P};
    gsl_vector *x = gsl_vector_alloc(dim), *step = gsl_vector_alloc(dim);
    gsl_multimin_fminimizer *s =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, dim);
    if (!x || !step || !s) {
        gsl_vector_free(x);
        gsl_vector_free(step);
        if (s)
            gsl_multimin_fminimizer_free(s);
        return HUGE_VAL;
    }
    /* start from a small feasible tile: 8 channels x 4 x 4 pixels (clipped to the layer), or
     * 8 channels x 1 image */
    gsl_vector_set(x, 0, log(fmin(8, P->kg)));
    if (P->whole) {
        gsl_vector_set(x, 1, 0);
    } else {
        gsl_vector_set(x, 1, log(fmin(4, P->p)));
        gsl_vector_set(x, 2, log(fmin(4, P->q)));
    }
    gsl_vector_set_all(step, 0.7);
    gsl_multimin_fminimizer_set(s, &f, x, step);
    int status = GSL_CONTINUE;
    for (int it = 0; it < 2000 && status == GSL_CONTINUE; it++) {
        if (gsl_multimin_fminimizer_iterate(s))
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), 1e-6);
    }
    tile_of(P, s->x, t);
    double v = s->fval;
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x);
    gsl_vector_free(step);
    /* the penalties may leave the optimum a hair outside a bound: clip */
    t[0] = fmin(fmax(t[0], 1), fmin(P->kg, SPACE_TK_MAX));
    t[1] = fmin(fmax(t[1], 1), fmin(P->p, SPACE_SIDE_MAX));
    t[2] = fmin(fmax(t[2], 1), fmin(P->q, P->q_max));
    t[3] = fmin(fmax(t[3], 1), fmin(P->n, SPACE_TN_MAX));
    return v;
}

iob_status iob_direct_relax_continuous(const iob_layer *L, const iob_machine *m, double tile[4],
                                       double *floats, iob_error *err)
{
    relax_problem P = problem_of(L, m);
    double t[4];
    double v = minimise(&P, tile);
    if (v == HUGE_VAL)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for the relaxation");
    /* whole images, several per block, where a whole image fits a tile of the space */
    if (L->n > 1 && L->p <= SPACE_SIDE_MAX && L->q <= P.q_max && L->p * L->q <= SPACE_PIXELS_MAX) {
        P.whole = 1;
        double vw = minimise(&P, t);
        if (vw == HUGE_VAL)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for the relaxation");
        if (relaxed_floats(&P, t) < relaxed_floats(&P, tile) && vw < v)
            memcpy(tile, t, sizeof t);
    }
    if (floats)
        *floats = relaxed_floats(&P, tile);
    return IOB_OK;
}

/* The values of the config space around x: the largest <= x and the smallest >= x, widened
 * by `radius` - 1 more values on each side (sorted distinct vals). */
static int brackets(const int *vals, int n, double x, int radius, int out[16])
{
    int below = -1, above = n, k = 0;
    for (int i = 0; i < n; i++) {
        if (vals[i] <= x)
            below = i;
        if (vals[i] >= x && above == n)
            above = i;
    }
    int lo = below >= 0 ? below - (radius - 1) : 0, hi = above < n ? above + (radius - 1) : n - 1;
    if (below < 0)
        hi = radius - 1;
    if (above == n)
        lo = n - radius;
    for (int i = lo < 0 ? 0 : lo; i <= hi && i < n && k < 16; i++)
        out[k++] = vals[i];
    return k;
}

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int in_set(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

iob_status iob_direct_relaxed(const iob_layer *L, const iob_machine *m, iob_objective obj,
                              iob_config *seed, iob_error *err)
{
    double tile[4];
    iob_status st = iob_direct_relax_continuous(L, m, tile, NULL, err);
    if (st)
        return st;
    iob_config *all;
    size_t n;
    if ((st = iob_direct_dataflow.candidates(L, m, &all, &n, err)))
        return st;
    /* the distinct values of each tile side in the space */
    int *vk = calloc(4 * n + 1, sizeof *vk);
    if (!vk) {
        free(all);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    int *vp = vk + n, *vq = vp + n, *vn = vq + n, nk = 0, np = 0, nq = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        int tn = all[i].tile_n > 1 ? all[i].tile_n : 1;
        if (!in_set(vn, nn, tn))
            vn[nn++] = tn;
        if (!in_set(vk, nk, all[i].tile_k))
            vk[nk++] = all[i].tile_k;
        if (!in_set(vp, np, all[i].tile_p))
            vp[np++] = all[i].tile_p;
        if (!in_set(vq, nq, all[i].tile_q))
            vq[nq++] = all[i].tile_q;
    }
    qsort(vk, (size_t)nk, sizeof *vk, cmp_int);
    qsort(vp, (size_t)np, sizeof *vp, cmp_int);
    qsort(vq, (size_t)nq, sizeof *vq, cmp_int);
    qsort(vn, (size_t)nn, sizeof *vn, cmp_int);
    double best = 0;
    int found = 0;
    iob_resources res;
    iob_traffic t;
    /* widen the neighbourhood until a config fits (divisibility and thread limits can rule out
     * the nearest tiles) */
    for (int radius = 1; radius <= 16 && !found; radius++) {
        int bk[16], bp[16], bq[16], bn[16];
        int nbk = brackets(vk, nk, tile[0], radius, bk), nbp = brackets(vp, np, tile[1], radius, bp),
            nbq = brackets(vq, nq, tile[2], radius, bq), nbn = brackets(vn, nn, tile[3], radius, bn);
        for (size_t i = 0; i < n; i++) {
            if (!in_set(bk, nbk, all[i].tile_k) || !in_set(bp, nbp, all[i].tile_p) ||
                !in_set(bq, nbq, all[i].tile_q) ||
                !in_set(bn, nbn, all[i].tile_n > 1 ? all[i].tile_n : 1))
                continue;
            memset(&res, 0, sizeof res);
            memset(&t, 0, sizeof t);
            if (iob_direct_dataflow.check(L, &all[i], m, &res, NULL) ||
                iob_direct_dataflow.predict(L, &all[i], m, &res, &t, NULL))
                continue;
            double v = obj == IOB_OBJ_TIME ? t.time_s : (double)(t.l2_read_bytes + t.l2_write_bytes);
            if (!found || v < best) {
                best = v;
                *seed = all[i];
                found = 1;
            }
        }
    }
    free(vk);
    free(all);
    if (!found)
        return iob_error_set(err, IOB_EINFEASIBLE, "no feasible direct config around the relaxed "
                             "tile %.1f x %.1f x %.1f x %.1f images", tile[0], tile[1], tile[2],
                             tile[3]);
    return IOB_OK;
}
