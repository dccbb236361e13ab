/* emu_keys.h - accesses as sortable keys, for the emulation tests that hold a kernel's logged
 * global accesses equal to a trace generator's (test_im2_emu.c, test_winograd_emu.c): both sides
 * become sets of (launch, block, stage, write, sector) keys, compared after sorting. */
#ifndef IOB_TESTS_EMU_KEYS_H
#define IOB_TESTS_EMU_KEYS_H

#include <stdint.h>
#include <stdlib.h>

#include "iobound/trace.h"

typedef struct acc_key {
    uint64_t launch, block, stage, write, sector;
} acc_key;

/* keys, and the launch and block the trace sink is emitting for */
typedef struct key_vec {
    acc_key *v;
    size_t n, cap;
    int launch;
    int64_t block;
} key_vec;

static void key_push(key_vec *kv, acc_key k)
{
    if (kv->n == kv->cap) {
        kv->cap = kv->cap ? 2 * kv->cap : 4096;
        kv->v = realloc(kv->v, kv->cap * sizeof *kv->v);
        assert_non_null(kv->v);
    }
    kv->v[kv->n++] = k;
}

static int key_cmp(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    for (int i = 0; i < 5; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* Sorts the keys and drops repeats; returns how many are left. */
static size_t key_unique(key_vec *kv)
{
    qsort(kv->v, kv->n, sizeof *kv->v, key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < kv->n; i++)
        if (!u || key_cmp(&kv->v[u - 1], &kv->v[i]))
            kv->v[u++] = kv->v[i];
    return u;
}

/* An iob_trace_sink callback (ctx: a key_vec): the trace's accesses as keys of kv->launch and
 * kv->block. */
static int trace_emit(void *ctx, const iob_access *a, size_t n)
{
    key_vec *kv = ctx;
    for (size_t i = 0; i < n; i++)
        key_push(kv, (acc_key){(uint64_t)kv->launch, (uint64_t)kv->block, a[i].stage,
                               a[i].write, a[i].addr});
    return 0;
}

#endif
