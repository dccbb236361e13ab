/* validate.h - validation records and sweeps: for each (layer, algorithm, config) the lower bound,
 * the model's prediction, the simulator's count and the hardware counters side by side, written
 * record by record to a CSV or JSON Lines file that a sweep can resume; and the statistics that
 * summarise such a file.
 *
 * The fields of a record, the file formats, the resume rules and the statistics are specified in
 * docs/validate.md; this header is the C view of that text.
 *
 * Levels (DESIGN.md, "The model's vocabulary"): SM<->L2 read bytes on the SM side
 * (l1tex__m_xbar2l1tex_read_sectors x 32) and write bytes
 * (lts__t_sectors_srcunit_tex_op_write x 32), L2<->DRAM read and write bytes
 * (dram__bytes_read/write), shared-memory bytes (sm__sass_data_bytes_mem_shared), FFMA
 * instructions, the run time in milliseconds, and the read bytes the L2 slices counted
 * (lts__t_sectors_srcunit_tex_op_read x 32; measured only, docs/counters.md).
 */
#ifndef IOBOUND_VALIDATE_H
#define IOBOUND_VALIDATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "iobound/bound.h"
#include "iobound/dataflow.h"
#include "iobound/gpu.h"
#include "iobound/layer.h"
#include "iobound/machine.h"
#include "iobound/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- levels ------------------------------------------------------------------------------- */

typedef enum iob_level {
    IOB_LVL_L2_READ = 0, /* bytes the SMs read from L2 (32-byte sectors x 32), counted on the
                            SM side: what the crossbar delivered to the SMs' L1TEX */
    IOB_LVL_L2_WRITE,    /* bytes the SMs write to L2 */
    IOB_LVL_DRAM_READ,   /* bytes L2 reads from DRAM */
    IOB_LVL_DRAM_WRITE,  /* bytes L2 writes to DRAM */
    IOB_LVL_SMEM,        /* shared-memory bytes, loads + stores */
    IOB_LVL_FFMA,        /* FFMA thread instructions */
    IOB_LVL_TIME,        /* run time, milliseconds */
    IOB_LVL_L2_READ_SLICE, /* bytes the L2 slices counted for the SMs' reads (requests of several
                              SMs to one sector may be merged there, so it can be below
                              L2_READ); measured only: prediction and simulation NAN */
    IOB_LVL_COUNT
} iob_level;

/* Column suffix of a level: "l2_read_bytes", "l2_write_bytes", "dram_read_bytes",
 * "dram_write_bytes", "smem_bytes", "ffma", "time_ms", "l2_read_slice_bytes". NULL past the
 * end. */
const char *iob_level_name(iob_level l);
/* Words a reader understands: "SM<-L2 read (SM side)", "DRAM write", "shared memory", ... */
const char *iob_level_label(iob_level l);
/* Unit of a level: "bytes", "FFMA instructions", "ms". */
const char *iob_level_unit(iob_level l);

/* ---- the record ---------------------------------------------------------------------------- */

typedef enum iob_rec_status {
    IOB_REC_OK = 0,       /* no stage failed (stages may be unavailable: see the states) */
    IOB_REC_ERROR,        /* a stage failed: error_stage, error_code and error say which and why */
    IOB_REC_INAPPLICABLE  /* the algorithm does not apply to the layer (error gives the reason) */
} iob_rec_status;

typedef enum iob_stage_state {
    IOB_STAGE_NOT_RUN = 0, /* not attempted (no config, or nothing to do for this record) */
    IOB_STAGE_OK,
    IOB_STAGE_FAILED,      /* attempted and failed: the error fields say why */
    IOB_STAGE_UNAVAILABLE  /* the stage does not exist here (no GPU, no simulator yet) */
} iob_stage_state;

const char *iob_rec_status_name(iob_rec_status s);   /* "ok", "error", "inapplicable" */
const char *iob_stage_state_name(iob_stage_state s); /* "not run", "ok", "failed", "unavailable" */

#define IOB_RECORD_SPEC_MAX 512
#define IOB_RECORD_CONFIG_MAX 256
#define IOB_RECORD_ERROR_MAX (IOB_ERROR_MSG_MAX + 64)

/* The pseudo-algorithm of the per-layer record that holds cuDNN's best FP32 algorithm. */
#define IOB_RECORD_ALGO_CUDNN "cudnn"

/* One (layer, algorithm, config). Numbers that are not known are NAN (empty in CSV, null in
 * JSON). Strings are NUL-terminated and never hold a newline or another control character. */
typedef struct iob_record {
    char layer[IOB_NAME_MAX];              /* the layer's name */
    char layer_spec[IOB_RECORD_SPEC_MAX];  /* iob_layer_format(): parses back to the layer */
    char algo[24];                         /* iob_algo_name() or "cudnn" */
    char variant[48];                      /* the bound's variant; for cudnn its algorithm */
    char config[IOB_RECORD_CONFIG_MAX];    /* iob_config_format(); "" when there is none */
    char machine[64];
    iob_rec_status status;
    char error_stage[16];                  /* plan, bound, model, sim, measure, cudnn, worker */
    char error_code[24];                   /* iob_status_name() of the failure */
    char error[IOB_RECORD_ERROR_MAX];      /* "stage: message" of each failed stage, "; "-joined */
    /* the layer and its lower bound (FP32 bytes) */
    double flops;            /* the algorithm's floating-point operations */
    double s_bytes;          /* S: fast memory of one SM */
    double bound_sm_bytes;   /* least traffic of one SM with S bytes running the whole layer */
    double bound_gpu_bytes;  /* least total SM<->L2 traffic of all SMs */
    double compulsory_bytes; /* every input used, weight and output moved once */
    char bound_dominant[64]; /* "compulsory" or "reuse ..." */
    /* per level: the model, the simulator and the hardware */
    iob_stage_state pred_state, sim_state, meas_state;
    double pred[IOB_LVL_COUNT];
    double sim[IOB_LVL_COUNT];
    double meas[IOB_LVL_COUNT];  /* counters; meas[IOB_LVL_TIME] = median of the timed runs */
    char pred_limiter[16];       /* what limits the predicted time: fp32, l2, dram, smem, latency */
    double meas_max_rel_err;     /* the output's largest relative error against FP64 */
    /* cuDNN on the same layer (same timing protocol): best FP32 (FMA math) and best TF32 */
    double cudnn_fp32_ms;
    char cudnn_fp32_algo[48];
    double cudnn_tf32_ms;
    char cudnn_tf32_algo[48];
    /* (x - measured) / measured per level, x = predicted or simulated; NAN when either is
     * unknown or measured is 0. Filled by iob_record_finish(). */
    double relerr_pred[IOB_LVL_COUNT];
    double relerr_sim[IOB_LVL_COUNT];
} iob_record;

/* An empty record: strings "", numbers NAN, states not run, status ok. */
void iob_record_init(iob_record *r);

/* Computes the relative errors from pred, sim and meas, and the status from the states
 * (failed stage -> IOB_REC_ERROR unless the status is already IOB_REC_INAPPLICABLE). */
void iob_record_finish(iob_record *r);

/* Records a failed stage: sets the state pointer (may be NULL) to failed, status to error, and
 * appends "stage: message" to r->error; the first failure names error_stage and error_code. */
void iob_record_fail(iob_record *r, iob_stage_state *state, const char *stage,
                     const iob_error *err);

/* The resume key of a record: layer_spec TAB algo TAB config. Returns what snprintf returns. */
int iob_record_key(const iob_record *r, char *buf, size_t size);

/* SM<->L2 read + write bytes of a level array (NAN if either is unknown). */
double iob_levels_l2_total(const double *levels);

/* ---- file formats -------------------------------------------------------------------------- */

typedef enum iob_record_format {
    IOB_RECFMT_CSV = 0,  /* a header row, then one RFC 4180 row per record */
    IOB_RECFMT_JSONL     /* one JSON object per line, the same keys as the CSV header */
} iob_record_format;

/* The column names in order (docs/validate.md lists and explains each). */
int iob_record_field_count(void);
const char *iob_record_field_name(int i);

/* The CSV header line, without the newline (static storage). */
const char *iob_record_csv_header(void);

/* Writes one record as a line in the format, newline included, into a malloc'ed string
 * (*line; free() it). IOB_ENOMEM on allocation failure. */
iob_status iob_record_to_line(const iob_record *r, iob_record_format fmt, char **line,
                              iob_error *err);

/* Parses one line (without its newline) written by iob_record_to_line. For CSV, the header
 * must have been checked by the caller. IOB_EINVAL naming the field on a malformed line. */
iob_status iob_record_from_line(const char *line, iob_record_format fmt, iob_record *r,
                                iob_error *err);

/* Records read from a file, owned by the list. */
typedef struct iob_record_list {
    iob_record *items;
    size_t count, cap;
    iob_record_format format;
    int64_t torn_bytes;  /* bytes of an unterminated last line (a torn record), not parsed */
    int64_t good_bytes;  /* bytes up to and including the last complete line */
} iob_record_list;

void iob_record_list_free(iob_record_list *list);
iob_status iob_record_list_push(iob_record_list *list, const iob_record *r, iob_error *err);

/* Reads every complete record of a file in either format (the format is taken from the content:
 * a line starting with '{' is JSON Lines; otherwise the first line that is not a '#' comment
 * must be the CSV header). A torn last line (no newline at the end) is not an error: its size
 * is reported in torn_bytes. An empty file gives an empty list (format CSV). Errors name the
 * file and the line. */
iob_status iob_records_read(const char *path, iob_record_list *list, iob_error *err);
/* The same on text already in memory (len bytes; label names it in errors). */
iob_status iob_records_parse(const char *text, size_t len, const char *label,
                             iob_record_list *list, iob_error *err);

/* ---- an appendable, lockable, resumable record file ---------------------------------------- */

typedef struct iob_recfile iob_recfile;

/* Opens (creating it if needed) the file at path for appending records in fmt. Under an
 * exclusive flock: repairs a torn last line by truncating it, writes the CSV header into an
 * empty CSV file, checks that an existing file is in fmt (IOB_EINVAL otherwise) and that its
 * records are for machine (IOB_EINVAL if machine is not NULL and a record names another one),
 * and remembers the key of every record. *out is owned by the caller (iob_recfile_close). */
iob_status iob_recfile_open(const char *path, iob_record_format fmt, const char *machine,
                            iob_recfile **out, iob_error *err);

/* Records already in the file when it was opened or last appended to, and bytes repaired. */
size_t iob_recfile_count(const iob_recfile *f);
int64_t iob_recfile_repaired_bytes(const iob_recfile *f);

/* 1 if a record with this key is in the file. With refresh = 1 the lines other processes
 * appended since the last look are read first (under a shared lock). */
int iob_recfile_has(iob_recfile *f, const char *key, int refresh);

/* Appends one record: takes the exclusive lock, repairs a torn tail that another process left,
 * reads the records others appended meanwhile, and writes the line with one write() followed
 * by fdatasync() unless a record with the same key is already there (then *written = 0). The
 * lock is released before returning, so two processes never interleave lines. IOB_EIO with the
 * system's reason when a write fails. */
iob_status iob_recfile_append(iob_recfile *f, const iob_record *r, int *written, iob_error *err);

/* The file descriptor (for closing it in a forked child). */
int iob_recfile_fd(const iob_recfile *f);

void iob_recfile_close(iob_recfile *f);

/* ---- stage hooks ---------------------------------------------------------------------------- */

/* Which configs a sweep runs per (layer, algorithm). */
typedef enum iob_config_select {
    IOB_CFG_BEST = 0, /* the model's time-optimal config (iob_dataflow_best, IOB_OBJ_TIME) */
    IOB_CFG_TOP,      /* the top_n configs by predicted time */
    IOB_CFG_ALL       /* every feasible config, in enumeration order */
} iob_config_select;

/* What one GPU measurement of a config (or of cuDNN's best FP32 algorithm) gives. */
typedef struct iob_measurement {
    double level[IOB_LVL_COUNT]; /* counters summed over the run's kernels; TIME: median ms */
    double max_rel_err;          /* output error against FP64 (NAN when not checked) */
} iob_measurement;

/* cuDNN's best algorithms for a layer. Times NAN and names "" when none ran. */
typedef struct iob_cudnn_best {
    double fp32_ms;
    char fp32_algo[48];
    double tf32_ms;
    char tf32_algo[48];
} iob_cudnn_best;

/* The stages a sweep calls; a NULL member means the default given with it. Tests replace them.
 * Functions marked (worker) run in the measurement worker process; they may crash without
 * harming the sweep. */
typedef struct iob_sweep_hooks {
    /* Configs of algo for the layer (default iob_validate_configs). *out malloc'ed. */
    iob_status (*configs)(const iob_layer *L, iob_algo algo, const iob_machine *m,
                          iob_config_select sel, int top_n, iob_config **out, size_t *count,
                          iob_error *err);
    /* Predicted levels of a config (default iob_validate_predict). limiter: 16 bytes. */
    iob_status (*predict)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                          double *levels, char *limiter, iob_error *err);
    /* Simulated levels (default iob_validate_simulate). IOB_ENOTSUP = no simulator here. */
    iob_status (*simulate)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                           double *levels, iob_error *err);
    /* (worker) IOB_OK when the GPU can be used (default iob_gpu_available). When machine is
     * not NULL, also fills it from the device (default iob_machine_query_device). */
    iob_status (*gpu_probe)(iob_machine *machine, iob_error *err);
    /* (worker) Runs, checks, times and measures cfg; cfg NULL = cuDNN's best FP32 algorithm
     * (default iob_validate_measure). */
    iob_status (*measure)(const iob_layer *L, const iob_config *cfg, const iob_run_opts *o,
                          iob_measurement *out, iob_error *err);
    /* (worker) cuDNN's best FP32 and TF32 times (default iob_validate_cudnn). */
    iob_status (*cudnn)(const iob_layer *L, const iob_run_opts *o, iob_cudnn_best *out,
                        iob_error *err);
} iob_sweep_hooks;

/* The default stages (validate/stages.c). */
iob_status iob_validate_configs(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                iob_config_select sel, int top_n, iob_config **out,
                                size_t *count, iob_error *err);
iob_status iob_validate_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                double *levels, char *limiter, iob_error *err);
/* The one place the simulator is wired in (iob_sim_layer); IOB_ENOTSUP for an algorithm with no
 * trace generator. */
iob_status iob_validate_simulate(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 double *levels, iob_error *err);
iob_status iob_validate_gpu_probe(iob_machine *machine, iob_error *err);
iob_status iob_validate_measure(const iob_layer *L, const iob_config *cfg, const iob_run_opts *o,
                                iob_measurement *out, iob_error *err);
iob_status iob_validate_cudnn(const iob_layer *L, const iob_run_opts *o, iob_cudnn_best *out,
                              iob_error *err);

/* ---- the sweep ------------------------------------------------------------------------------ */

typedef struct iob_sweep_progress {
    size_t done, total;    /* records finished in this run / to do in this run */
    size_t skipped;        /* already in the file when the sweep started */
    double elapsed_s;
} iob_sweep_progress;

typedef struct iob_sweep_opts {
    const iob_layer *layers;
    size_t nlayers;
    int algos[IOB_ALGO_COUNT];  /* nonzero: sweep this algorithm */
    iob_config_select select;
    int top_n;                  /* for IOB_CFG_TOP, >= 1 */
    iob_machine machine;        /* the model's machine (replaced by the device's when
                                   machine_from_device and a GPU answers) */
    int machine_from_device;    /* --machine device: ask the worker (CUDA stays out of the
                                   parent so that the worker can be forked) */
    const char *path;
    iob_record_format format;
    int measure;                /* 1: measure on the GPU when the worker finds one */
    iob_run_opts run;           /* timing protocol of measurements */
    double measure_timeout_s;   /* a measurement that takes longer kills the worker (0: 600) */
    iob_sweep_hooks hooks;
    /* Called after each record (main thread). */
    void (*progress)(void *ctx, const iob_sweep_progress *p);
    /* A one-line notice, at most once per kind: no GPU, no simulator, worker restarts. */
    void (*notice)(void *ctx, const char *line);
    void *ctx;
    /* When it becomes nonzero (e.g. set by a SIGINT handler), the sweep stops after the
     * current record; an unfinished measurement is abandoned and not recorded. */
    volatile sig_atomic_t *stop;
} iob_sweep_opts;

/* Defaults: every algorithm, best config, CSV, measure when possible, run opts default. */
void iob_sweep_opts_default(iob_sweep_opts *o);

typedef struct iob_sweep_result {
    size_t planned;       /* records this sweep would write in total */
    size_t skipped;       /* already in the file */
    size_t written;       /* appended by this run */
    size_t errors;        /* of them, status error */
    size_t duplicates;    /* finished here but found in the file (another process wrote them) */
    int64_t repaired_bytes; /* torn tail removed at start */
    int measured;         /* 1 if a GPU measured */
    int simulated;        /* 1 if the simulator ran */
    int worker_restarts;
    int interrupted;      /* stopped through opts->stop */
} iob_sweep_result;

/* Runs the sweep (docs/validate.md, "Sweeps"): for each layer, algorithm and selected config,
 * the bound, the prediction and the simulation (OpenMP across configs), then the measurements
 * in a forked worker process, appending one record per config in a fixed order. Records already
 * in the file are skipped. A stage that fails makes an error record; the sweep goes on. Fails
 * only when the file cannot be opened or written (IOB_EIO), is of another format or machine
 * (IOB_EINVAL), on bad options (IOB_EINVAL), or out of memory. */
iob_status iob_sweep_run(const iob_sweep_opts *opts, iob_sweep_result *result, iob_error *err);

/* ---- statistics (validate/stats.c, GSL) ---------------------------------------------------- */

/* Median and 90th percentile of v[0..n) (sorted in place): GSL's quantile with linear
 * interpolation between order statistics, q_f = v[i] + (v[i+1]-v[i]) * ((n-1)f - i),
 * i = floor((n-1)f). NAN when n = 0. */
void iob_stats_quantiles(double *v, size_t n, double *median, double *p90);

/* Least-squares fit y = intercept + slope * x (gsl_fit_linear) and r^2 = 1 - SSres/SStot.
 * NAN everywhere when n < 2 or every x is equal; r2 NAN when every y is equal. */
void iob_stats_fit(const double *x, const double *y, size_t n, double *slope,
                   double *intercept, double *r2);

typedef struct iob_level_stats {
    size_t n_pred;            /* records with predicted and measured */
    double pred_median, pred_p90; /* of |relerr_pred| */
    size_t n_sim;
    double sim_median, sim_p90;
    double slope, intercept, r2; /* measured = intercept + slope * predicted */
} iob_level_stats;

typedef struct iob_tightness {
    size_t groups;            /* (layer, algorithm) pairs with a bound and the quantity */
    double min, median, max;  /* of best-over-bound ratios */
} iob_tightness;

#define IOB_TIGHT_ALL IOB_ALGO_COUNT /* index of the all-algorithms row */

typedef struct iob_summary {
    size_t records, ok, errors, inapplicable, cudnn;
    size_t predicted, simulated, measured; /* records with that stage ok */
    iob_level_stats level[IOB_LVL_COUNT];
    /* soundness: SM<->L2 read + write below bound_gpu_bytes (ok records, cudnn excluded) */
    size_t checked_pred, violations_pred;
    size_t checked_sim, violations_sim;
    size_t checked_meas, violations_meas;
    /* tightness per algorithm (index iob_algo) and over all (IOB_TIGHT_ALL): best SM<->L2
     * traffic of a (layer, algorithm) over its bound_gpu_bytes */
    iob_tightness tight_meas[IOB_ALGO_COUNT + 1];
    iob_tightness tight_pred[IOB_ALGO_COUNT + 1];
} iob_summary;

/* Statistics of records (docs/validate.md, "Statistics"). Only records with status ok and an
 * algorithm other than cudnn enter the per-level errors, the fits and the soundness counts. */
iob_status iob_summary_compute(const iob_record *r, size_t n, iob_summary *s, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
