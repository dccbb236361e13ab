/* replay.h - an element-level red-blue pebble replayer: counts the loads and stores of an explicit
 * operation sequence run in a fast memory of S words (internal to sim/ and tests/).
 *
 * The model is the red-blue pebble game of Hong and Kung (1981) without recomputation, as the
 * bounds of model/pebble.c assume it (docs/bounds.md):
 *   - Elements are integers in [0, nelems). An element that no operation writes is an input: it
 *     starts in slow memory. An element marked final is an output: it must end in slow memory.
 *   - An operation updates one result element `out` from up to two operands `in[0..1]`
 *     (out += in0 * in1, out += coef * in0, out = in0, out = 0). All of them must be resident at
 *     once. The first operation that writes `out` starts its chain and needs no load of it; every
 *     later one needs its current value (a load if it is not resident). out < 0: a pure read.
 *   - Fast memory holds S elements. A miss loads the element (1 load); when memory is full a
 *     resident element that the current operation does not use is evicted. Evicting a dirty
 *     element (written since it was last in slow memory) costs one store when it is used again or
 *     is final; otherwise it is dropped for free. Final outputs still dirty at the end are stored.
 *   - Replacement: IOB_REPLAY_OPT (Belady: evict the element whose next use is furthest) or
 *     IOB_REPLAY_LRU. Belady minimises the loads of a fixed sequence; with stores it is not always
 *     optimal, but any replacement gives a legal execution, so its count is an upper bound on the
 *     optimum of that sequence and must stay above every lower bound.
 */
#ifndef IOB_SIM_REPLAY_H
#define IOB_SIM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "iobound/status.h"

typedef struct iob_replay_op {
    int32_t out;   /* element updated (< 0: none, the operation only reads) */
    int32_t in[2]; /* operands read (< 0: unused slot) */
} iob_replay_op;

/* A growable operation sequence over nelems elements, owned by the struct. */
typedef struct iob_opseq {
    iob_replay_op *ops;
    size_t nops, cap;
    int32_t nelems;
    uint8_t *final;   /* final[e] = 1: e is an output of the computation (nelems entries) */
    size_t macs;      /* operations with two operands (multiply-adds), counted by push */
} iob_opseq;

/* Starts an empty sequence. */
void iob_opseq_init(iob_opseq *seq);
/* Releases the sequence's memory and resets it. */
void iob_opseq_free(iob_opseq *seq);
/* Reserves n new element ids and returns the first in *base. Fails with IOB_ERANGE when the ids
 * would pass INT32_MAX, IOB_ENOMEM when memory runs out. */
iob_status iob_opseq_elems(iob_opseq *seq, int64_t n, int32_t *base, iob_error *err);
/* Marks element e final (an output). e must come from iob_opseq_elems. */
void iob_opseq_mark_final(iob_opseq *seq, int32_t e);
/* Appends out <- f(out, a, b); a, b < 0 for unused operands. IOB_ENOMEM on failure. */
iob_status iob_opseq_push(iob_opseq *seq, int32_t out, int32_t a, int32_t b, iob_error *err);

typedef enum iob_replay_policy { IOB_REPLAY_OPT = 0, IOB_REPLAY_LRU } iob_replay_policy;

typedef struct iob_replay_count {
    uint64_t loads, stores;
    uint64_t ops;           /* operations replayed */
    uint64_t peak;          /* most elements resident at once */
} iob_replay_count;

/* Replays seq in S words with the given replacement and counts loads and stores. Fails with
 * IOB_EINVAL when an element id is out of range, an operation names one element twice, S is
 * smaller than an operation's operand count, or an element is read before its first write and
 * written later (a schedule bug: it would be neither an input nor a computed value). IOB_ENOMEM on
 * allocation failure. seq is not modified. */
iob_status iob_replay_run(const iob_opseq *seq, int64_t S, iob_replay_policy policy,
                          iob_replay_count *count, iob_error *err);

#endif
