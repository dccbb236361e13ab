/* pebble.h - the segment argument of the red-blue pebble game, for computations whose operations
 * each read one element of three operand classes (internal to model/).
 *
 * A "projective" computation: every operation (a multiply-add) touches one element of each of
 * three classes A, B, C, where C holds accumulators (an accumulator chain can start without a
 * load). For a segment of the schedule that performs t loads, with at most S words resident at
 * its start, the elements its operations touch satisfy |A|+|B|+|C| <= S + t (docs/bounds.md,
 * Lemma 2), and its operation count F obeys
 *     F <= sqrt(rho * |A| |B| |C|)          (Loomis-Whitney, rho = reuse constant: Lemma 3)
 *     F <= fan_X * |X|  for X in A, B, C    (no element serves more than fan_X operations)
 *     |X| <= cap_X                          (no more distinct elements than the tensor has)
 *     F <= ops                              (no more operations than exist).
 * U(X) is the largest F those constraints allow with |A|+|B|+|C| <= X. The theorem
 * (docs/bounds.md, Theorem 1) then gives, for every t >= 1 (a processor's first segment starts
 * with an empty fast memory, so it holds at most U(t) operations),
 *     one processor:   Q >= t * ceil((ops - U(t)) / U(S + t))
 *     P processors:    Q >= t * (ops - P U(t)) / U(S + t)    (total over the processors)
 * minus `unpaid` (accumulators a composite algorithm consumes instead of storing).
 */
#ifndef IOB_MODEL_PEBBLE_H
#define IOB_MODEL_PEBBLE_H

typedef struct iob_pebble {
    double ops;     /* operations of the computation (multiply-adds that must be executed) */
    double rho;     /* reuse constant of the Loomis-Whitney inequality (>= 1) */
    double cap[3];  /* total distinct elements of A, B, C (<= 0: unbounded) */
    double fan[3];  /* operations one element of A, B, C can serve (<= 0: unbounded) */
    double unpaid;  /* accumulator chains a composite algorithm consumes without a store minus
                       the results it must store in their place (0 for direct, GEMM) */
    double floor;   /* a bound already known (the compulsory traffic): the search does not
                       refine results that cannot exceed it (0: always refine) */
} iob_pebble;

/* An upper bound on the operations of one segment whose operands fit in X words: the exact
 * maximum of the program above, computed by bisection on F (feasibility of a fixed F is a
 * water-filling problem), rounded up. */
double iob_pebble_max_ops(const iob_pebble *pb, double X);

typedef struct iob_pebble_result {
    double leading;    /* 2 * ops / sqrt(rho * S): the leading term alone */
    double one;        /* best bound for one processor (>= 0) */
    double gpu;        /* best bound on the total of P processors (>= 0) */
    double t_one;      /* the segment length t that gave `one` */
    double gpu_cold;   /* the cold-start term alone (iob_pebble_cold_bound); gpu >= it */
} iob_pebble_result;

/* The segment bound maximised over t: a log-spaced scan, golden-section refinement of the smooth
 * objectives, then for one processor the integer segment count k around the optimum (for each k
 * the largest t that keeps k segments). Every t tried gives a valid bound, so the search can only
 * make it tighter. S in words (> 0), P >= 1. */
iob_pebble_result iob_pebble_bound(const iob_pebble *pb, double S, int P);

/* The bound on the total of any number of processors that each start with an empty fast memory
 * (docs/bounds.md, Theorem 1b): ops * inf_x psi(x) / x - unpaid, where a processor doing x
 * operations needs psi(x) = max(s(x), max_t t (x - U(t)) / U(S + t)) loads, s(x) its least
 * footprint (Loomis-Whitney and fans), t over S 2^(j/2), j = -8..8. Independent of P: spreading
 * the work over more processors only raises it. iob_pebble_bound's `gpu` includes it. */
double iob_pebble_cold_bound(const iob_pebble *pb, double S);

#endif
