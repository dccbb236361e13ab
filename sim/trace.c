/* trace.c - trace building shared by every algorithm: tensor placement and the dispatch to
 * sim/trace_<algo>.c. */
#include <stdlib.h>
#include <string.h>

#include "iobound/trace.h"
#include "sim/trace_algo.h"

extern const iob_trace_builder iob_direct_trace_builder; /* sim/trace_direct.c */
extern const iob_trace_builder iob_trace_winograd; /* sim/trace_winograd.c */
extern const iob_trace_builder iob_trace_im2col; /* sim/trace_im2col.c */
extern const iob_trace_builder iob_trace_im2win; /* sim/trace_im2win.c */

/* The algorithms with a trace generator; each entry lives in sim/trace_<algo>.c. */
static const iob_trace_builder *const builders[] = {
    &iob_direct_trace_builder,
    &iob_trace_winograd,
    &iob_trace_im2col,
    &iob_trace_im2win,
    NULL,
};

#define ALIGN_2M(x) (((x) + (2ull << 20) - 1) & ~((2ull << 20) - 1))

void iob_trace_layout_default(const iob_layer *L, const iob_resources *res,
                              iob_trace_layout *layout)
{
    uint64_t in = (uint64_t)L->n * L->c * L->h * L->w * 4;
    uint64_t f = (uint64_t)L->k * (L->c / L->groups) * L->r * L->s * 4;
    uint64_t out = (uint64_t)L->n * L->k * L->p * L->q * 4;
    uint64_t base = 2ull << 20; /* keep address 0 unused */
    layout->input = base;
    layout->filter = ALIGN_2M(layout->input + in);
    layout->output = ALIGN_2M(layout->filter + f);
    uint64_t next = ALIGN_2M(layout->output + out);
    for (int i = 0; i < 3; i++) {
        layout->work[i] = next;
        /* one workspace of res->workspace_bytes; algorithms that need several split it */
        next = ALIGN_2M(next + (i == 0 && res ? (uint64_t)res->workspace_bytes : 0));
    }
}

iob_status iob_trace_build(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                           iob_trace *trace, iob_error *err)
{
    memset(trace, 0, sizeof *trace);
    for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++)
        if (builders[i] && builders[i]->algo == cfg->algo) {
            iob_resources res;
            memset(&res, 0, sizeof res);
            iob_status st = iob_dataflow_check(L, cfg, m, &res, err);
            if (st)
                return st;
            iob_trace_layout_default(L, &res, &trace->layout);
            return builders[i]->build(L, cfg, m, &res, trace, err);
        }
    return iob_error_set(err, IOB_ENOTSUP, "no trace generator for algorithm '%s'",
                         iob_algo_name(cfg->algo));
}

void iob_trace_free(iob_trace *trace)
{
    for (int i = 0; i < IOB_TRACE_KERNELS_MAX; i++)
        free(trace->owned[i]);
    memset(trace, 0, sizeof *trace);
}
