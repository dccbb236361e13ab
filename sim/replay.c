/* replay.c - the element-level red-blue pebble replayer (model and rules in sim/replay.h).
 *
 * Both policies keep the resident elements in one max-heap with lazy deletion: every access
 * pushes (key, element) and an entry is live while its element is resident with that key. OPT's
 * key is the index of the element's next use (precomputed by one backward pass), LRU's is minus
 * the index of its last use, so the heap's top is the victim in both cases. The current
 * operation's elements are never victims: they are re-keyed when it completes, so their popped
 * entries are simply dropped.
 */
#include "sim/replay.h"

#include <stdlib.h>
#include <string.h>

#define NEVER INT64_MAX

void iob_opseq_init(iob_opseq *seq)
{
    memset(seq, 0, sizeof *seq);
}

void iob_opseq_free(iob_opseq *seq)
{
    free(seq->ops);
    free(seq->final);
    iob_opseq_init(seq);
}

iob_status iob_opseq_elems(iob_opseq *seq, int64_t n, int32_t *base, iob_error *err)
{
    if (n < 0 || (int64_t)seq->nelems + n > INT32_MAX)
        return iob_error_set(err, IOB_ERANGE, "%lld more elements pass the replayer's id range",
                             (long long)n);
    int64_t total = (int64_t)seq->nelems + n;
    uint8_t *f = realloc(seq->final, total > 0 ? (size_t)total : 1);
    if (!f)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for %lld elements",
                             (long long)total);
    memset(f + seq->nelems, 0, (size_t)n);
    seq->final = f;
    *base = seq->nelems;
    seq->nelems = (int32_t)total;
    return IOB_OK;
}

void iob_opseq_mark_final(iob_opseq *seq, int32_t e)
{
    if (e >= 0 && e < seq->nelems)
        seq->final[e] = 1;
}

iob_status iob_opseq_push(iob_opseq *seq, int32_t out, int32_t a, int32_t b, iob_error *err)
{
    if (seq->nops == seq->cap) {
        size_t cap = seq->cap ? 2 * seq->cap : 1024;
        iob_replay_op *ops = realloc(seq->ops, cap * sizeof *ops);
        if (!ops)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu operations", cap);
        seq->ops = ops;
        seq->cap = cap;
    }
    iob_replay_op *op = &seq->ops[seq->nops++];
    op->out = out;
    op->in[0] = a;
    op->in[1] = b;
    if (a >= 0 && b >= 0)
        seq->macs++;
    return IOB_OK;
}

/* The elements of one operation: in[0], in[1], then out; returns how many (<= 3). */
static int op_elems(const iob_replay_op *op, int32_t e[3], int *is_out)
{
    int k = 0;
    for (int j = 0; j < 2; j++)
        if (op->in[j] >= 0)
            e[k++] = op->in[j];
    *is_out = -1;
    if (op->out >= 0) {
        *is_out = k;
        e[k++] = op->out;
    }
    return k;
}

typedef struct entry {
    int64_t key;
    int32_t e;
} entry;

typedef struct heap {
    entry *v;
    size_t n;
} heap;

static void heap_push(heap *h, int64_t key, int32_t e)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p].key >= key)
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i].key = key;
    h->v[i].e = e;
}

static entry heap_pop(heap *h)
{
    entry top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1].key > h->v[c].key)
            c++;
        if (last.key >= h->v[c].key)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* Per-element state of a replay. */
typedef struct elem_state {
    int64_t key;      /* key of its live heap entry */
    int64_t next;     /* index of its next use after the last access (NEVER: none) */
    uint8_t resident, dirty, written;
} elem_state;

/* Checks ids and duplicates, fills next-use indices (3 per op) and the read-before-write rule. */
static iob_status prepare(const iob_opseq *seq, int64_t S, int64_t *next, iob_error *err)
{
    size_t ne = (size_t)seq->nelems;
    int64_t *later = malloc((ne ? ne : 1) * sizeof *later);
    int64_t *first_write = malloc((ne ? ne : 1) * sizeof *first_write);
    int64_t *first_read = malloc((ne ? ne : 1) * sizeof *first_read);
    iob_status st = IOB_OK;
    if (!later || !first_write || !first_read) {
        st = iob_error_set(err, IOB_ENOMEM, "out of memory replaying %zu operations", seq->nops);
        goto done;
    }
    for (size_t e = 0; e < ne; e++)
        later[e] = first_write[e] = first_read[e] = NEVER;
    for (size_t i = seq->nops; i-- > 0;) {
        const iob_replay_op *op = &seq->ops[i];
        int32_t el[3];
        int is_out;
        int k = op_elems(op, el, &is_out);
        if (k > S) {
            st = iob_error_set(err, IOB_EINVAL, "operation %zu needs %d elements but S=%lld", i,
                               k, (long long)S);
            goto done;
        }
        for (int j = 0; j < k; j++) {
            if (el[j] >= seq->nelems) {
                st = iob_error_set(err, IOB_EINVAL, "operation %zu: element %d out of range "
                                   "(nelems=%d)", i, (int)el[j], (int)seq->nelems);
                goto done;
            }
            for (int j2 = 0; j2 < j; j2++)
                if (el[j2] == el[j]) {
                    st = iob_error_set(err, IOB_EINVAL, "operation %zu names element %d twice",
                                       i, (int)el[j]);
                    goto done;
                }
        }
        for (int j = 0; j < k; j++) {
            next[3 * i + (size_t)j] = later[el[j]];
            later[el[j]] = (int64_t)i;
            if (j == is_out)
                first_write[el[j]] = (int64_t)i;
            else
                first_read[el[j]] = (int64_t)i;
        }
    }
    for (size_t e = 0; e < ne; e++)
        if (first_write[e] != NEVER && first_read[e] < first_write[e]) {
            st = iob_error_set(err, IOB_EINVAL, "element %zu is read by operation %lld before "
                               "its first write (operation %lld)", e,
                               (long long)first_read[e], (long long)first_write[e]);
            goto done;
        }
done:
    free(later);
    free(first_write);
    free(first_read);
    return st;
}

iob_status iob_replay_run(const iob_opseq *seq, int64_t S, iob_replay_policy policy,
                          iob_replay_count *count, iob_error *err)
{
    memset(count, 0, sizeof *count);
    if (S < 1)
        return iob_error_set(err, IOB_EINVAL, "fast memory S=%lld words: must be positive",
                             (long long)S);
    size_t ne = (size_t)seq->nelems, nacc = 3 * seq->nops;
    int64_t *next = malloc((nacc ? nacc : 1) * sizeof *next);
    elem_state *st_e = calloc(ne ? ne : 1, sizeof *st_e);
    heap h = {malloc((nacc ? nacc : 1) * sizeof(entry)), 0};
    iob_status st = IOB_OK;
    if (!next || !st_e || !h.v) {
        st = iob_error_set(err, IOB_ENOMEM, "out of memory replaying %zu operations", seq->nops);
        goto done;
    }
    if ((st = prepare(seq, S, next, err)))
        goto done;
    int64_t resident = 0;
    for (size_t i = 0; i < seq->nops; i++) {
        int32_t el[3];
        int is_out;
        int k = op_elems(&seq->ops[i], el, &is_out);
        for (int j = 0; j < k; j++) {
            elem_state *x = &st_e[el[j]];
            if (x->resident)
                continue;
            while (resident >= S) { /* evict the top live entry not used by this operation */
                entry top = heap_pop(&h);
                elem_state *v = &st_e[top.e];
                if (!v->resident || v->key != top.key)
                    continue; /* stale */
                int pinned = 0;
                for (int j2 = 0; j2 < k; j2++)
                    pinned |= el[j2] == top.e;
                if (pinned)
                    continue; /* re-keyed when this operation completes */
                if (v->dirty && (v->next != NEVER || seq->final[top.e]))
                    count->stores++;
                v->resident = 0;
                v->dirty = 0;
                resident--;
            }
            x->resident = 1;
            resident++;
            /* an input operand, or a result whose chain has started, comes from slow memory */
            if (j != is_out || x->written)
                count->loads++;
        }
        if ((uint64_t)resident > count->peak)
            count->peak = (uint64_t)resident;
        for (int j = 0; j < k; j++) {
            elem_state *x = &st_e[el[j]];
            if (j == is_out)
                x->dirty = x->written = 1;
            x->next = next[3 * i + (size_t)j];
            x->key = policy == IOB_REPLAY_OPT ? x->next : -(int64_t)i;
            heap_push(&h, x->key, el[j]);
        }
        count->ops++;
    }
    for (size_t e = 0; e < ne; e++)
        if (st_e[e].resident && st_e[e].dirty && seq->final[e])
            count->stores++;
done:
    free(next);
    free(st_e);
    free(h.v);
    return st;
}
