/* tune.h - the bound-guided auto-tuner: search, baselines, measurement, tuning database, records.
 *
 * For one layer the tuner
 *   1. enumerates the feasible configs of every algorithm that has a dataflow model
 *      (iob_dataflow_enumerate; an algorithm answering IOB_ENOTSUP or with no config is skipped),
 *   2. predicts each (iob_dataflow_predict) and compares its predicted SM<->L2 bytes with the
 *      algorithm's GPU-wide lower bound (iob_bound_layer: bound_gpu * 4 bytes),
 *   3. drops the configs whose ratio predicted / bound exceeds a factor (IOB_TUNE_DEFAULT_FACTOR),
 *   4. ranks the rest by predicted time and measures the first K on the GPU, where K is at most 5%
 *      of the feasible space, at least IOB_TUNE_MIN_MEASURE and at most IOB_TUNE_MAX_MEASURE
 *      (iob_tune_budget), and
 *   5. keeps the fastest config whose output check passed.
 * docs/tune.md gives the method, when the pruning is sound, and the database format.
 *
 * Two interfaces make it testable without a GPU and without the dataflow model:
 *   - a candidate source (enumerate / predict / bound), the model's by default;
 *   - a measurer (config -> time or error), either in-process (iob_gpu_run) or a worker process
 *     that is restarted after a kernel fault, so that a sticky CUDA error never reaches the
 *     tuner's own process.
 */
#ifndef IOBOUND_TUNE_H
#define IOBOUND_TUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iobound/bound.h"
#include "iobound/dataflow.h"
#include "iobound/gpu.h"
#include "iobound/layer.h"
#include "iobound/machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pruning factor: a config whose predicted SM<->L2 bytes exceed this many times its algorithm's
 * lower bound is not measured. Why 30 (docs/tune.md, "The default factor"): 12 was the smallest
 * factor at which the direct model loses no layer of bench/layers/gpu-layers.csv by its own
 * account; fused Winograd's bound is looser (docs/bounds.md), and its configs that ran fastest on
 * the H100 at batch 32 (2026-11-23) move 15-24 times that bound, so 12 removed every Winograd
 * config of resnet50.res4/res5 and vgg16.conv3_2-conv5_2 before measuring. */
#define IOB_TUNE_DEFAULT_FACTOR 30.0
/* At most this fraction of the feasible space is measured (issue 9's target)... */
#define IOB_TUNE_MAX_FRACTION 0.05
/* ...but at least this many configs, so that one failing kernel does not leave a layer untuned. */
#define IOB_TUNE_MIN_MEASURE 3
/* ...and at most this many, for the 5 s per layer of issue 9: NVRTC takes 0.09-0.14 s per
 * direct-kernel config (measured, docs/tune.md) and a checked, timed run a few tenths more, while
 * 5% of a feasible space is often thousands of configs (59028 for resnet50.res2.3x3). */
#define IOB_TUNE_MAX_MEASURE 8

/* ---- candidate source --------------------------------------------------------------------- */

/* Where configs, predictions and bounds come from. The model's source wraps
 * iob_dataflow_enumerate / iob_dataflow_predict / iob_tune_config_bound; tests inject a known
 * landscape. Contracts:
 *   enumerate: every feasible config of algo, *out malloc'ed (the tuner free()s it); IOB_ENOTSUP
 *              or *count = 0 means the algorithm is skipped (err says why); any other failure
 *              stops the search.
 *   predict:   the predicted traffic and time of one config; a failure drops that config from
 *              the ranking (it stays in the feasible space that random and exhaustive search see).
 *   bound:     the lower bound in bytes on the SM<->L2 traffic of the config's algorithm (and
 *              Winograd variant). It may depend only on (cfg->algo, cfg->wino_m): the tuner asks
 *              once per pair. IOB_ENOTSUP: no bound; those configs are kept unpruned. */
typedef struct iob_tune_source {
    iob_status (*enumerate)(void *ctx, const iob_layer *layer, iob_algo algo,
                            const iob_machine *m, iob_config **out, size_t *count,
                            iob_error *err);
    iob_status (*predict)(void *ctx, const iob_layer *layer, const iob_config *cfg,
                          const iob_machine *m, iob_traffic *t, iob_error *err);
    iob_status (*bound)(void *ctx, const iob_layer *layer, const iob_config *cfg,
                        const iob_machine *m, double *bytes, iob_error *err);
    void *ctx;
} iob_tune_source;

/* The dataflow model as a source (ctx unused). */
iob_tune_source iob_tune_source_model(void);

/* The bound the pruning compares a config with: iob_bound_layer(layer, cfg->algo) for the
 * machine (S = its fast memory, P = its SMs, FP32), bound_gpu in bytes. Winograd: the entry of
 * the config's F(m x m, r x r) fused variant (the kernels fuse both transforms, issue 6); when
 * that entry is missing, the smallest applicable Winograd bound. IOB_ENOTSUP when the bound says
 * the algorithm does not apply; errors of iob_bound_layer pass through. */
iob_status iob_tune_config_bound(const iob_layer *layer, const iob_config *cfg,
                                 const iob_machine *m, double *bytes, iob_error *err);

/* ---- options ------------------------------------------------------------------------------ */

typedef struct iob_tune_opts {
    double factor;        /* prune when predicted / bound > factor (> 1; default 30) */
    int top_k;            /* configs to measure; 0 = the budget rule (iob_tune_budget) */
    double max_fraction;  /* budget rule: at most this fraction of the feasible space (0.05) */
    int min_measure;      /* budget rule: at least this many (3) */
    int max_measure;      /* budget rule: at most this many (8; 0 = no cap) */
    double budget_s;      /* stop starting measurements after this many seconds of tuning once
                             one config passed (0 = no time limit) */
    unsigned algo_mask;   /* bit a set: consider algorithm a; 0 = every algorithm */
    /* clock in seconds (NULL: CLOCK_MONOTONIC); tests pass a simulated one */
    double (*clock)(void *ctx);
    void *clock_ctx;
} iob_tune_opts;

/* The defaults above. */
void iob_tune_opts_default(iob_tune_opts *o);
/* IOB_EINVAL naming the field: factor <= 1 or not finite, top_k < 0, max_fraction outside
 * (0, 1], min_measure < 1, max_measure < 0, budget_s < 0. */
iob_status iob_tune_opts_check(const iob_tune_opts *o, iob_error *err);

/* Configs to measure: top_k when set, else
 *   min(max_measure, max(min_measure, floor(max_fraction * feasible)))
 * (no max_measure cap when it is 0); never more than kept (the configs that survived pruning). */
size_t iob_tune_budget(size_t feasible, size_t kept, const iob_tune_opts *o);

/* ---- the search space of one layer ------------------------------------------------------- */

typedef struct iob_tune_cand {
    iob_config cfg;
    size_t index;        /* position in the enumeration (algorithms in iob_algo order) */
    int predicted;       /* 0: the model could not predict it (pred_* are NaN, never kept) */
    double pred_time_s;  /* iob_traffic.time_s */
    double pred_bytes;   /* predicted SM<->L2 bytes: l2_read_bytes + l2_write_bytes */
    double bound_bytes;  /* the algorithm's bound (NaN: none, see iob_tune_source.bound) */
    double ratio;        /* pred_bytes / bound_bytes (NaN without a bound) */
    int kept;            /* survived the pruning */
    int rank;            /* 0-based rank among the kept by predicted time; -1 if not kept */
} iob_tune_cand;

typedef struct iob_tune_space {
    iob_tune_cand *cands; /* every feasible config: the kept ones first, in rank order (predicted
                             time, then predicted bytes, then enumeration order), then the rest
                             by ratio (NaN last), then enumeration order */
    size_t count;         /* feasible configs (all algorithms) */
    size_t kept;          /* configs that survived the pruning: cands[0 .. kept) */
    size_t unpredicted;   /* feasible configs the model could not predict */
    size_t per_algo[IOB_ALGO_COUNT]; /* feasible configs per algorithm */
    double factor_used;   /* the cut applied: factor, or factor * smallest ratio when relaxed */
    int relaxed;          /* 1: no config was within factor x its bound, so the cut was made
                             relative to the smallest ratio present (docs/tune.md) */
    double min_pruned_bytes; /* least predicted bytes of a pruned config (+inf: none pruned);
                                used by iob_tune_certified() */
    char skipped[384];    /* algorithms skipped and why, "; "-separated ("" when none) */
    double build_s;       /* seconds spent enumerating, predicting and ranking */
    const iob_machine *machine; /* the machine the space was built for (not owned) */
} iob_tune_space;

/* Builds the ranked space of a finished layer. Fails with IOB_ENOTSUP when no algorithm yields
 * a config (the message lists each algorithm's reason), with a source's error when an
 * enumerate call fails otherwise, or IOB_ENOMEM. On failure *space is empty (safe to free). */
iob_status iob_tune_space_build(const iob_layer *layer, const iob_machine *m,
                                const iob_tune_source *src, const iob_tune_opts *opts,
                                iob_tune_space *space, iob_error *err);
void iob_tune_space_free(iob_tune_space *space);

/* ---- measurers ---------------------------------------------------------------------------- */

/* One measurement of one config. */
typedef struct iob_tune_meas {
    iob_status status;    /* IOB_OK: time_ms is valid and the output check passed; else why the
                             config failed (IOB_ECHECK wrong output, IOB_EGPU compile or launch
                             error, IOB_ENOMEM, a worker that died or timed out: IOB_EGPU) */
    double time_ms;       /* median of the timed runs */
    double compile_ms;    /* NVRTC time spent on this config (0 when cached) */
    double max_rel_err;   /* against the FP64 reference (NaN when unknown) */
    int context_lost;     /* 1: the failure may have left the CUDA context unusable */
    char message[200];
} iob_tune_meas;

/* cuDNN's best times for a layer: FMA math (true FP32) and default math (TF32 allowed). */
typedef struct iob_tune_baseline {
    iob_status status;    /* IOB_OK when at least the FP32 time is known */
    double fp32_ms;       /* NaN when no FP32 algorithm ran */
    char fp32_algo[48];
    double tf32_ms;       /* NaN when no TF32 algorithm ran */
    char tf32_algo[48];
    char message[200];
} iob_tune_baseline;

/* A measurer. measure() returns IOB_OK when *out holds a result, passed or failed (a failed
 * config is skipped by the tuner); any other return means the measurer can measure nothing more
 * (no GPU, a lost context it cannot replace, a worker that cannot be started) and the tuner stops
 * measuring. After a result with context_lost, an in-process measurer refuses every later call;
 * a worker measurer replaces its process. baseline() may be NULL (no cuDNN figures). */
typedef struct iob_measurer {
    iob_status (*measure)(void *ctx, const iob_layer *layer, const iob_config *cfg,
                          iob_tune_meas *out, iob_error *err);
    iob_status (*baseline)(void *ctx, const iob_layer *layer, iob_tune_baseline *out,
                           iob_error *err);
    void *ctx;
    /* Optional (NULL: none): called once with the configs about to be measured, so that their
     * kernels compile in parallel into the on-disk cache before the measurements, which then find
     * them there. Failures are ignored here: the measurement reports them. */
    void (*prepare)(void *ctx, const iob_layer *layer, const iob_machine *m,
                    const iob_config *cfgs, size_t n);
} iob_measurer;

/* Marks mark[i] (i < space->kept) for the configs the search measures first, the first `budget`
 * of its measuring order: the best two kept configs of each algorithm (when several have kept
 * configs), then the others by rank. IOB_ENOMEM when out of memory. */
iob_status iob_tune_first_measured(const iob_tune_space *space, size_t budget,
                                   unsigned char *mark);

/* The prepare hook of the real measurers: builds each config's plan and compiles every launch
 * with NVRTC (iob_gpu_compile_many) for the machine's compute capability. Needs no GPU. */
void iob_tune_precompile(void *ctx, const iob_layer *layer, const iob_machine *m,
                         const iob_config *cfgs, size_t n);

/* In-process measurer over iob_gpu_run / iob_gpu_cudnn. Treats every IOB_EGPU as a possibly
 * sticky CUDA error: that result has context_lost = 1 and later calls fail with IOB_EGPU. Use it
 * inside a worker process (iob_tune_worker_serve), or alone for debugging. */
typedef struct iob_gpu_measurer {
    iob_run_opts run;
    int lost;
    char lost_msg[200];
} iob_gpu_measurer;
void iob_gpu_measurer_init(iob_gpu_measurer *g, const iob_run_opts *run); /* run NULL: defaults */
iob_measurer iob_gpu_measurer_get(iob_gpu_measurer *g);

/* Worker-process measurer: every request goes over a socket to a child process started with argv
 * (argv[0] a path; the child must call iob_tune_worker_serve on its stdin/stdout). A child that
 * dies, times out (timeout_s per request, then SIGKILL) or reports a lost context turns that
 * config into a failed result and is replaced at the next request; three failed starts in a row
 * make the measurer fail. The protocol (JSON lines) is in docs/tune.md. */
typedef struct iob_tune_worker iob_tune_worker;
/* Starts the child and waits for its greeting. IOB_EIO if it cannot be started, IOB_ENOMEM. */
iob_status iob_tune_worker_open(char *const argv[], double timeout_s, iob_tune_worker **w,
                                iob_error *err);
iob_measurer iob_tune_worker_measurer(iob_tune_worker *w);
/* Processes started so far (1 after open; +1 per replacement). */
int iob_tune_worker_starts(const iob_tune_worker *w);
/* Asks the child to quit, waits for it (kills it after timeout_s) and frees w. NULL is fine. */
void iob_tune_worker_close(iob_tune_worker *w);
/* The child's side: reads requests from in, answers on out with inner, until "quit" or end of
 * input. Returns 0 after a clean end, 1 after a lost context or a broken measurer (the process
 * should then exit: its CUDA context must not be reused), 2 on a protocol error. */
int iob_tune_worker_serve(FILE *in, FILE *out, const iob_measurer *inner);

/* ---- measured searches ------------------------------------------------------------------ */

/* Measurements of one layer, shared by the tuner and the baseline searches so that a config is
 * measured once per layer and the three searches compare the same numbers. */
typedef struct iob_tune_memo {
    iob_config *cfg;
    iob_tune_meas *meas;
    size_t count, cap;
} iob_tune_memo;
void iob_tune_memo_free(iob_tune_memo *memo);

#define IOB_TUNE_FAIL_MAX 16 /* 2 K: every failure of a search within its budget */

typedef struct iob_tune_failure {
    iob_config cfg;
    iob_status status;
    char message[200];
} iob_tune_failure;

/* The outcome of one search (bound-guided, random or exhaustive) on one layer. */
typedef struct iob_tune_result {
    int found;            /* 1: best is the fastest config whose output check passed */
    iob_config best;
    double best_ms;       /* NaN when not found */
    double best_pred_s;   /* its predicted time (NaN when the model had none) */
    double best_ratio;    /* its predicted bytes / bound (NaN when unknown) */
    long best_rank;       /* its rank among the kept configs (-1: not kept or not found) */
    size_t feasible, kept;
    size_t budget;        /* configs the search set out to measure */
    size_t measured;      /* configs measured (failures included) */
    size_t failed;        /* of which failed */
    double tune_s;        /* seconds: building the space (guided search only) + measuring,
                             compile time included */
    double compile_ms;    /* NVRTC time inside tune_s */
    int stopped;          /* 1: the measurer stopped working (message says why) */
    int budget_hit;       /* 1: budget_s ended the measuring */
    int relaxed;          /* the space's flag (guided search) */
    char message[256];
    int nfailures;        /* failures listed below (the first IOB_TUNE_FAIL_MAX) */
    iob_tune_failure failures[IOB_TUNE_FAIL_MAX];
} iob_tune_result;

/* The bound-guided search over a built space: measures the kept configs in rank order, up to
 * iob_tune_budget() of them; when all of those failed, goes on down the ranking until one passes,
 * at most as many again. budget_s is honoured once a config passed. memo may be NULL.
 * Returns IOB_OK with res filled even when nothing passed (res->found = 0); IOB_ENOMEM. */
iob_status iob_tune_search(const iob_tune_space *space, const iob_layer *layer,
                           const iob_measurer *meas, const iob_tune_opts *opts,
                           iob_tune_memo *memo, iob_tune_result *res, iob_error *err);

/* iob_tune_space_build + iob_tune_search; res->tune_s includes building the space. The space is
 * returned through space_out when not NULL (free it), else freed. */
iob_status iob_tune_layer(const iob_layer *layer, const iob_machine *m, const iob_tune_source *src,
                          const iob_measurer *meas, const iob_tune_opts *opts, iob_tune_memo *memo,
                          iob_tune_space *space_out, iob_tune_result *res, iob_error *err);

/* Random search: budget configs drawn uniformly without replacement from the whole feasible
 * space (no pruning, no ranking), in an order fixed by seed (splitmix64; the same on every
 * platform), every one measured; keeps the fastest that passed. */
iob_status iob_tune_random(const iob_tune_space *space, const iob_layer *layer,
                           const iob_measurer *meas, size_t budget, uint64_t seed,
                           iob_tune_memo *memo, iob_tune_result *res, iob_error *err);

/* Exhaustive search: every feasible config measured, in enumeration order. */
iob_status iob_tune_exhaustive(const iob_tune_space *space, const iob_layer *layer,
                               const iob_measurer *meas, iob_tune_memo *memo,
                               iob_tune_result *res, iob_error *err);

/* 1 when the pruning provably lost nothing on this layer: every pruned config c must move at
 * least pred_bytes(c) over the SM<->L2 link, so it takes at least pred_bytes(c) / l2_bw seconds;
 * if that is not less than best_s for every pruned c, none of them could have won. 0 when some
 * pruned config might have been faster, -1 when l2_bw is unknown (<= 0) or nothing was found. */
int iob_tune_certified(const iob_tune_space *space, double best_s, double l2_bw);

/* The roofline floor of a layer: max(FLOPs / iob_machine_fp32_rate(m), compulsory bytes (FP32)
 * / iob_machine_dram_bw(m)), in seconds. IOB_ERANGE on overflow, IOB_EINVAL when the machine has
 * no rate or bandwidth. */
iob_status iob_tune_roofline_floor(const iob_layer *layer, const iob_machine *m, double *seconds,
                                   iob_error *err);

/* ---- tuning database (tune/db.c; format in docs/tune.md) ------------------------------- */

typedef struct iob_tune_entry {
    char layer[512];      /* canonical spec of the layer's shape (iob_layer_format, name left out) */
    char name[IOB_NAME_MAX]; /* the name it was last tuned under (information only) */
    char config[256];     /* iob_config_format text of the winner */
    double time_ms;
    double cudnn_fp32_ms; /* NaN when unknown */
    double cudnn_tf32_ms; /* NaN when unknown */
    long measured, feasible;
    double tune_s;
    char date[32];        /* ISO 8601 UTC, "2026-11-23T10:00:00Z"; "" = now (at store) */
    char kernel_hash[17]; /* iob_tune_kernel_hash() of the build that measured it */
} iob_tune_entry;

typedef enum iob_tune_db_state {
    IOB_TUNE_DB_MISS = 0,  /* no file, or no entry for the layer */
    IOB_TUNE_DB_HIT = 1,   /* a valid entry */
    IOB_TUNE_DB_STALE = 2  /* an entry measured with other kernel sources (entry filled) */
} iob_tune_db_state;

/* 16 lowercase hex digits: FNV-1a 64 over the name and text of every embedded kernel source
 * (gpu/host_kernels.h), in table order. Any change in a kernel file changes it. */
void iob_tune_kernel_hash(char out[17]);

/* The database file of a machine: $IOB_CACHE_DIR/tune-<id>.json, else
 * $XDG_CACHE_HOME/iobound/tune-<id>.json, else $HOME/.cache/iobound/tune-<id>.json, where <id>
 * is "<device name>-sm<major><minor>" for a queried device (from_device = 1) and the preset name
 * otherwise; characters outside [A-Za-z0-9._-] become '-'. IOB_EINVAL when no variable is set,
 * IOB_ERANGE when the path does not fit. Creates nothing. */
iob_status iob_tune_db_path(const iob_machine *m, int from_device, char *buf, size_t size,
                            iob_error *err);

/* The canonical key of a layer: iob_layer_format of its shape, name left out. */
int iob_tune_layer_key(const iob_layer *layer, char *buf, size_t size);

/* Looks the layer up. *state: MISS (a missing file is a miss), HIT (entry filled), or STALE
 * (entry filled; its kernel_hash differs from kernel_hash). IOB_EINVAL with one line naming the
 * file when it is not a valid database (it is left as it is); IOB_EIO when it cannot be read. */
iob_status iob_tune_db_lookup(const char *path, const iob_layer *layer, const char *kernel_hash,
                              iob_tune_entry *entry, iob_tune_db_state *state, iob_error *err);

/* Stores entries (replacing those with the same layer key) under an exclusive flock on
 * "<path>.lock": reads the file, merges, writes "<path>.tmp.XXXXXX", fsyncs and renames it over
 * path, so that a reader never sees a partial file and two writers lose nothing. Creates the
 * parent folder. A file that is not a valid database is renamed to "<path>.corrupt-<UTC time>"
 * and a one-line warning saying so is written into warning (when not NULL; "" otherwise);
 * device and sm label a new file. IOB_EIO on a file-system failure (path unchanged). */
iob_status iob_tune_db_store(const char *path, const char *device, const char *sm,
                             const iob_tune_entry *entries, size_t n, char *warning,
                             size_t warning_size, iob_error *err);

/* Every entry of the file (*entries malloc'ed, free() it; NULL and 0 for a missing file).
 * IOB_EINVAL for a file that is not a valid database, IOB_EIO, IOB_ENOMEM. */
iob_status iob_tune_db_read(const char *path, iob_tune_entry **entries, size_t *n,
                            iob_error *err);

/* What `iobound run --config tuned` calls: the tuned config of layer from the database at path
 * (NULL: iob_tune_db_path(m, from_device)), checked against this build's kernel hash. IOB_OK with
 * *cfg (and *entry when not NULL); IOB_ENOTSUP with one line when there is no entry or it is
 * stale (the line says to run `iobound tune`); lookup errors pass through. */
iob_status iob_tune_db_config(const char *path, const iob_machine *m, int from_device,
                              const iob_layer *layer, iob_config *cfg, iob_tune_entry *entry,
                              iob_error *err);

/* ---- records and summary (tune/record.c, tune/summary.c) ------------------------------ */

/* One layer's outcome, as `iobound tune` appends it (CSV or JSON Lines). NaN = no value. */
typedef struct iob_tune_record {
    char layer[IOB_NAME_MAX];  /* the layer's name */
    char spec[512];            /* its canonical spec with the name (iob_layer_format) */
    char status[16];           /* "ok", "no-config" (nothing passed), "stopped", "error" */
    char config[256];          /* the tuner's pick */
    double time_ms, pred_ms, ratio;
    long rank, measured, feasible, kept, failed;
    double tune_s;
    double cudnn_fp32_ms;
    char cudnn_fp32_algo[48];
    double cudnn_tf32_ms;
    char cudnn_tf32_algo[48];
    double floor_ms;           /* roofline floor */
    int certified;             /* iob_tune_certified(); -1 unknown */
    double random_ms;          /* random search, same budget */
    char random_config[256];
    long random_measured;
    double exhaustive_ms;      /* exhaustive search */
    char exhaustive_config[256];
    long exhaustive_measured;
    double exhaustive_ratio;   /* the exhaustive winner's predicted bytes / bound */
    long exhaustive_rank;      /* the exhaustive winner's rank in the tuner's ranking (-1: pruned) */
    char message[256];
} iob_tune_record;

/* A record with every number NaN or -1 and every text empty. */
void iob_tune_record_init(iob_tune_record *r);

typedef enum iob_tune_rec_fmt { IOB_TUNE_REC_JSONL = 0, IOB_TUNE_REC_CSV = 1 } iob_tune_rec_fmt;

/* The CSV header line (no newline) and one record as a CSV line / a JSON object line (with the
 * newline). Field names: docs/tune.md. */
void iob_tune_record_csv_header(FILE *out);
void iob_tune_record_write(FILE *out, iob_tune_rec_fmt fmt, const iob_tune_record *r);

typedef struct iob_tune_record_list {
    iob_tune_record *items;
    size_t count, cap;
} iob_tune_record_list;
void iob_tune_record_list_free(iob_tune_record_list *l);
iob_status iob_tune_record_list_push(iob_tune_record_list *l, const iob_tune_record *r,
                                     iob_error *err);

/* Opens a record file for appending, resuming: the complete records already there are appended
 * to done (a last line without its newline, left by a killed run, is cut off); a new or empty
 * file gets the CSV header. The format of an existing file is taken from its first byte ('{':
 * JSON Lines) and must match fmt (IOB_EINVAL otherwise). *fp is the open stream (fclose it).
 * IOB_EINVAL for a line that is not a record (names the line), IOB_EIO. */
iob_status iob_tune_records_open(const char *path, iob_tune_rec_fmt fmt, FILE **fp,
                                 iob_tune_record_list *done, iob_error *err);

/* What else to run on each layer beside the tuner (the comparisons of issue 9). */
typedef struct iob_tune_compare {
    int random;           /* random search with the tuner's measured count */
    uint64_t seed;        /* its seed */
    int exhaustive;       /* exhaustive search */
    long exhaustive_max;  /* ...only where the feasible space has at most this many configs
                             (0: everywhere) */
} iob_tune_compare;

/* Everything `iobound tune` does for one layer, into rec (initialised here): the bound-guided
 * search, cuDNN's times (meas->baseline, when not NULL), the roofline floor on m, random and
 * exhaustive search as cmp asks (sharing one memo, so a config is measured once), and the
 * certificate (iob_tune_certified with m->l2_bw_peak). rec->status: "ok" (a config passed),
 * "no-config", "error" (the space could not be built: rec->message says why) or "stopped" (the
 * measurer failed; *stopped = 1 and the caller should not go on measuring). The guided search's
 * result goes to res when not NULL (failures to report). cmp NULL: no comparison. IOB_ENOMEM. */
iob_status iob_tune_layer_record(const iob_layer *layer, const iob_machine *m,
                                 const iob_tune_source *src, const iob_measurer *meas,
                                 const iob_tune_opts *opts, const iob_tune_compare *cmp,
                                 iob_tune_record *rec, iob_tune_result *res, int *stopped,
                                 iob_error *err);

/* The database entry of a record with status "ok" (date left empty: stamped at store). */
void iob_tune_entry_from_record(const iob_layer *layer, const iob_tune_record *rec,
                                const char kernel_hash[17], iob_tune_entry *entry);

typedef struct iob_tune_summary {
    size_t layers;             /* records */
    size_t tuned;              /* records with status "ok" */
    size_t with_cudnn;         /* tuned and with a cuDNN FP32 time */
    double geomean_speedup;    /* geometric mean of cudnn_fp32_ms / time_ms (NaN: none) */
    double worst_speedup;      /* the smallest of those */
    char worst_layer[IOB_NAME_MAX];
    size_t below_0_9;          /* layers with speedup < 0.9 */
    size_t with_tf32;
    double geomean_speedup_tf32; /* over cuDNN with TF32 allowed */
    size_t with_exhaustive;    /* tuned, with an exhaustive time */
    double within5_fraction;   /* of those: time_ms <= 1.05 * exhaustive_ms */
    size_t with_random;        /* tuned, with a random-search time */
    double geomean_over_random;/* geometric mean of random_ms / time_ms */
    size_t random_with_exhaustive;
    double random_within5_fraction; /* random search within 5% of exhaustive */
    double max_measured_fraction;   /* the largest measured / feasible */
    double mean_tune_s, max_tune_s;
} iob_tune_summary;

/* Statistics over records (GSL for the means); records other than "ok" only count in layers. */
void iob_tune_summarize(const iob_tune_record *r, size_t n, iob_tune_summary *s);

#ifdef __cplusplus
}
#endif

#endif
