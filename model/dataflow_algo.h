/* dataflow_algo.h - what each algorithm's dataflow file provides to model/dataflow.c (internal).
 * An algorithm registers one iob_dataflow_ops in the table of dataflow.c. */
#ifndef IOB_MODEL_DATAFLOW_ALGO_H
#define IOB_MODEL_DATAFLOW_ALGO_H

#include "iobound/dataflow.h"

typedef struct iob_dataflow_ops {
    iob_algo algo;
    /* Validity and fit (see iob_dataflow_check); fills res. */
    iob_status (*check)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        iob_resources *res, iob_error *err);
    /* Predicted traffic of a config that check() accepted. */
    iob_status (*predict)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                          const iob_resources *res, iob_traffic *t, iob_error *err);
    /* Candidate configs (not yet checked); *out malloc'ed. The generic code keeps the feasible. */
    iob_status (*candidates)(const iob_layer *L, const iob_machine *m, iob_config **out,
                             size_t *count, iob_error *err);
    /* Optional: the continuous relaxation's optimum, as a seed for iob_dataflow_best (may be
     * NULL: best is then the enumeration's). */
    iob_status (*relaxed)(const iob_layer *L, const iob_machine *m, iob_objective obj,
                          iob_config *seed, iob_error *err);
} iob_dataflow_ops;

#endif
