/* model_check.h - what the dataflow-model tests share (tests only): parsing that fails the test
 * with the reason, and the brute-force count of a config's trace (every access of every block of
 * the trace generator, sim/trace_*.c) that the closed forms must equal. */
#ifndef IOB_TESTS_MODEL_CHECK_H
#define IOB_TESTS_MODEL_CHECK_H

#include <stdint.h>

#include "iobound/dataflow.h"
#include "iobound/trace.h"

static inline iob_machine h100(void)
{
    iob_machine m;
    iob_error err = {0};
    if (iob_machine_get("h100-sxm", &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

static inline iob_layer layer(const char *spec)
{
    iob_layer L;
    iob_error err = {0};
    if (iob_layer_parse(spec, &L, &err))
        fail_msg("%s: %s", spec, err.msg);
    return L;
}

static inline iob_config config(const char *text)
{
    iob_config c;
    iob_error err = {0};
    if (iob_config_parse(text, &c, &err))
        fail_msg("%s: %s", text, err.msg);
    return c;
}

/* The resources (into *res) and predicted traffic of a config that must be feasible on m. */
static inline iob_traffic predict_on(const char *lspec, const char *cspec, const iob_machine *m,
                                     iob_resources *res)
{
    iob_layer L = layer(lspec);
    iob_config c = config(cspec);
    iob_traffic t;
    iob_error err = {0};
    if (iob_dataflow_check(&L, &c, m, res, &err) || iob_dataflow_predict(&L, &c, m, &t, &err))
        fail_msg("%s %s: %s", lspec, cspec, err.msg);
    return t;
}

typedef struct trace_sectors {
    uint64_t reads, writes;
} trace_sectors;

static inline int trace_sectors_emit(void *ctx, const iob_access *a, size_t n)
{
    trace_sectors *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (a[i].write)
            c->writes++;
        else
            c->reads++;
    }
    return 0;
}

/* The sectors read and written by the trace's kernels [k0, k1) (k1 < 0: to the last). */
static inline trace_sectors trace_count(const iob_layer *L, const iob_config *cfg,
                                        const iob_machine *m, int k0, int k1)
{
    iob_trace tr;
    iob_error err = {0};
    if (iob_trace_build(L, cfg, m, &tr, &err))
        fail_msg("trace: %s", err.msg);
    trace_sectors c = {0, 0};
    iob_trace_sink sink = {trace_sectors_emit, &c};
    for (int k = k0; k < (k1 < 0 ? tr.nkernels : k1) && k < tr.nkernels; k++)
        for (int64_t b = 0; b < tr.kernel[k].blocks; b++)
            if (tr.kernel[k].block(tr.kernel[k].state, b, &sink, &err))
                fail_msg("trace block: %s", err.msg);
    iob_trace_free(&tr);
    return c;
}

#endif
