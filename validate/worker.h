/* worker.h - the measurement worker of a sweep (internal to validate/).
 *
 * GPU measurements run in a child process (DESIGN.md, "Faults and files"): a kernel that faults
 * leaves the CUDA context unusable for the rest of its process, and a crash must not take the
 * sweep with it. The parent never touches CUDA (CUDA may not be used in a child forked after the
 * parent initialised it); the child probes the GPU, then answers requests over a socket pair
 * (a bidirectional pipe) until the parent closes it. A child that dies, does not answer within
 * the timeout, or reports a GPU error (a sticky CUDA error needs a fresh context) is killed and
 * reaped; the next request starts a new one.
 */
#ifndef IOB_VALIDATE_WORKER_H
#define IOB_VALIDATE_WORKER_H

#include <signal.h>

#include "iobound/validate.h"

typedef struct iob_worker iob_worker;

/* Creates a worker (no process yet). hooks: gpu_probe, measure and cudnn must be set.
 * close_fd: a descriptor the child closes first (the record file, so that the child never
 * holds its lock), or -1. Returns NULL when out of memory. */
iob_worker *iob_worker_new(const iob_sweep_hooks *hooks, int close_fd);

/* Sets the descriptor a child started from now on closes first (see iob_worker_new). */
void iob_worker_set_close_fd(iob_worker *w, int close_fd);

/* Starts the child if none runs and returns the probe's answer: IOB_OK when the child has a
 * GPU; otherwise the probe's status and message (IOB_ENODEV: no GPU), or IOB_EIO when the process
 * could not be started. When machine is not NULL and the probe succeeded, it receives the
 * device's machine description. */
iob_status iob_worker_probe(iob_worker *w, iob_machine *machine, iob_error *err);

/* Measures cfg (NULL: cuDNN's best FP32 algorithm) in the child. Returns the measurement's
 * status; a child that died or timed out gives IOB_EGPU with what happened. When *stop becomes
 * nonzero while waiting, the child is killed, *interrupted is set and IOB_OK is returned with
 * nothing measured. */
iob_status iob_worker_measure(iob_worker *w, const iob_layer *L, const iob_config *cfg,
                              const iob_run_opts *o, double timeout_s,
                              volatile sig_atomic_t *stop, int *interrupted,
                              iob_measurement *out, iob_error *err);

/* cuDNN's best FP32 and TF32 times for the layer, in the child (same failure rules). */
iob_status iob_worker_cudnn(iob_worker *w, const iob_layer *L, const iob_run_opts *o,
                            double timeout_s, volatile sig_atomic_t *stop, int *interrupted,
                            iob_cudnn_best *out, iob_error *err);

/* Children started so far beyond the first (restarts after a failure). */
int iob_worker_restarts(const iob_worker *w);

/* Kills the child (if any), reaps it and frees w. */
void iob_worker_free(iob_worker *w);

#endif
