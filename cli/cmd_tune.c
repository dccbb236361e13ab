/* cmd_tune.c - `iobound tune`: the bound-guided auto-tuner on the command line. Per layer: the
 * chosen config, its time, how much of the feasible space was measured, the tuning time, cuDNN's
 * best FP32 and TF32 times, the roofline floor, and optionally random and exhaustive search on
 * the same layer; then a summary. Records are appended one by one (-o FILE) and a rerun resumes;
 * winners go to the tuning database. `--dry-run` ranks the candidates from the model alone and
 * needs no GPU. `tune --worker` is the measuring child process (tune/worker.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/gpu.h"
#include "iobound/tune.h"

static const char help[] =
    "usage: iobound tune (--net NAME | --layers FILE | --layer SPEC) [--batch N] [--top K]\n"
    "                    [--factor F] [--algo LIST] [--db FILE] [--compare exhaustive,random]\n"
    "                    [--budget-s S] [--dry-run] [-o FILE] [--format F]\n"
    "\n"
    "Bound-guided auto-tuning (docs/tune.md). Per layer: enumerate every feasible config of\n"
    "every algorithm with a dataflow model, drop those whose predicted SM<->L2 traffic exceeds\n"
    "F times the algorithm's I/O lower bound, rank the rest by predicted time, measure the first\n"
    "K on the GPU (K <= 5%% of the feasible space, 3 to 8) and keep the fastest config whose\n"
    "output is correct. The winner goes to the tuning database, which `iobound run --config\n"
    "tuned` reads. Times are medians of 20 runs with the L2 flushed; cuDNN FP32 is its best\n"
    "algorithm with FMA math, TF32 (tensor cores, not FP32) is reported separately.\n"
    "\n"
    "  --top K            measure the K best-ranked configs (default: 5%%, 3 to 8)\n"
    "  --factor F         prune configs above F x the lower bound (default %.3g)\n"
    "  --algo LIST        algorithms to consider (default all with a model), comma-separated\n"
    "  --db FILE          tuning database (default $IOB_CACHE_DIR/tune-<device>.json, else\n"
    "                     $XDG_CACHE_HOME/iobound/..., else ~/.cache/iobound/...)\n"
    "  --compare LIST     also run random (same number of measurements, --seed) and/or\n"
    "                     exhaustive search (every feasible config) on each layer\n"
    "  --exhaustive-max N exhaustive search only on layers with at most N feasible configs\n"
    "  --seed N           seed of the random search (default 1)\n"
    "  --budget-s S       stop measuring a layer after S seconds once a config passed\n"
    "  --timeout-s S      a measurement taking longer is killed and counted failed (default 120)\n"
    "  --no-worker        measure in this process (a kernel fault then ends the tuning)\n"
    "  --dry-run          rank the candidates from the model alone (no GPU needed)\n"
    "  --show N           --dry-run: candidates shown per layer in a table (default 20;\n"
    "                     always at least the K to be measured)\n"
    "  -o FILE            append one record per layer to FILE (CSV with --format csv, else JSON\n"
    "                     Lines); a rerun skips the layers already there\n"
    "%s%s"
    "\n"
    "Without a GPU, tune says so and exits 1; --dry-run works everywhere (machine default\n"
    "h100-sxm; with a GPU the default machine is the device).\n";

typedef struct tune_args {
    iob_tune_opts opts;
    int dry_run, worker, no_worker, random, exhaustive, show;
    long exhaustive_max;
    uint64_t seed;
    double timeout_s;
    const char *db, *records;
} tune_args;

enum {
    OPT_TOP = IOB_OPT_COMMON_END,
    OPT_FACTOR,
    OPT_ALGO,
    OPT_DB,
    OPT_COMPARE,
    OPT_EXH_MAX,
    OPT_SEED,
    OPT_BUDGET,
    OPT_TIMEOUT,
    OPT_NO_WORKER,
    OPT_WORKER,
    OPT_DRY_RUN,
    OPT_SHOW
};

static int parse_number(const char *prog, const char *opt, const char *arg, double lo,
                        double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= lo && v <= hi))
        return iob_cli_usage_error(prog, "%s %s: expected a number from %g to %g", opt, arg, lo,
                                   hi);
    *out = v;
    return 0;
}

static int parse_whole(const char *prog, const char *opt, const char *arg, long long lo,
                       long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi)
        return iob_cli_usage_error(prog, "%s %s: expected a whole number from %lld to %lld", opt,
                                   arg, lo, hi);
    *out = v;
    return 0;
}

static int parse_list(const char *prog, const char *opt, const char *arg, tune_args *a)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (opt[2] == 'c') { /* --compare */
            if (!strcmp(tok, "random"))
                a->random = 1;
            else if (!strcmp(tok, "exhaustive"))
                a->exhaustive = 1;
            else
                return iob_cli_usage_error(prog, "--compare %s: expected random and/or "
                                           "exhaustive", tok);
            continue;
        }
        iob_algo algo;
        iob_error err;
        if (iob_algo_parse(tok, &algo, &err))
            return iob_cli_usage_error(prog, "--algo: %s", err.msg);
        a->opts.algo_mask |= 1u << algo;
    }
    return 0;
}

/* One tune-specific option; 0 when handled, an exit code otherwise, -1 if not ours. */
static int tune_option(const char *prog, int opt, const char *arg, tune_args *a)
{
    long long n;
    double x;
    int rc;
    switch (opt) {
    case OPT_TOP:
        rc = parse_whole(prog, "--top", arg, 1, 1000000, &n);
        a->opts.top_k = (int)n;
        return rc;
    case OPT_FACTOR:
    {
        char *end;
        x = strtod(arg, &end);
        if (end == arg || *end || !(x > 1) || !isfinite(x))
            return iob_cli_usage_error(prog, "--factor %s: must be a number above 1", arg);
    }
        a->opts.factor = x;
        return 0;
    case OPT_ALGO:
        return parse_list(prog, "--algo", arg, a);
    case OPT_COMPARE:
        return parse_list(prog, "--compare", arg, a);
    case OPT_DB:
        a->db = arg;
        return 0;
    case OPT_EXH_MAX:
        rc = parse_whole(prog, "--exhaustive-max", arg, 1, 1LL << 40, &n);
        a->exhaustive_max = (long)n;
        return rc;
    case OPT_SEED:
        rc = parse_whole(prog, "--seed", arg, 0, 9223372036854775807LL, &n);
        a->seed = (uint64_t)n;
        return rc;
    case OPT_BUDGET:
        return parse_number(prog, "--budget-s", arg, 0, 1e9, &a->opts.budget_s);
    case OPT_TIMEOUT:
        rc = parse_number(prog, "--timeout-s", arg, 0.001, 1e6, &a->timeout_s);
        return rc;
    case OPT_SHOW:
        rc = parse_whole(prog, "--show", arg, 1, 1000000, &n);
        a->show = (int)n;
        return rc;
    case OPT_NO_WORKER:
        a->no_worker = 1;
        return 0;
    case OPT_WORKER:
        a->worker = 1;
        return 0;
    case OPT_DRY_RUN:
        a->dry_run = 1;
        return 0;
    case 'o':
    case IOB_OPT_OUTPUT: /* records, appended: not the common -o, which truncates */
        a->records = arg;
        return 0;
    default:
        return -1;
    }
}

/* ---- formatting -------------------------------------------------------------------------- */

static const char *ms(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4g", v);
    return buf;
}

static const char *ratio_x(double num, double den, char *buf, size_t size)
{
    if (!(num > 0) || !(den > 0))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2fx", num / den);
    return buf;
}

/* ---- dry run ----------------------------------------------------------------------------- */

static void dry_run_layer(iob_cli *cli, const tune_args *a, const iob_layer *L,
                          const iob_tune_space *s, int *csv_header_done)
{
    size_t budget = iob_tune_budget(s->count, s->kept, &a->opts);
    const char *lname = L->name[0] ? L->name : "-";
    /* the same configs the search measures first (spread over the algorithms) */
    unsigned char *first = calloc(s->kept ? s->kept : 1, 1);
    if (first)
        iob_tune_first_measured(s, budget, first);
#define MEASURED(i) (first && (size_t)(i) < s->kept && first[i])
    char b1[32], b2[32], b3[32];
    if (cli->format == IOB_FMT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "layer", lname);
        char spec[512];
        iob_layer_format(L, spec, sizeof spec);
        cJSON_AddStringToObject(o, "spec", spec);
        cJSON_AddNumberToObject(o, "feasible", (double)s->count);
        cJSON_AddNumberToObject(o, "kept", (double)s->kept);
        cJSON_AddNumberToObject(o, "budget", (double)budget);
        cJSON_AddNumberToObject(o, "factor", s->factor_used);
        cJSON_AddBoolToObject(o, "relaxed", s->relaxed);
        cJSON_AddStringToObject(o, "skipped", s->skipped);
        cJSON *arr = cJSON_AddArrayToObject(o, "candidates");
        for (size_t i = 0; i < s->count; i++) {
            const iob_tune_cand *c = &s->cands[i];
            cJSON *j = cJSON_CreateObject();
            char text[256];
            iob_config_format(&c->cfg, text, sizeof text);
            cJSON_AddStringToObject(j, "config", text);
            cJSON_AddNumberToObject(j, "rank", c->rank);
            if (c->predicted) {
                cJSON_AddNumberToObject(j, "pred_ms", c->pred_time_s * 1e3);
                cJSON_AddNumberToObject(j, "pred_bytes", c->pred_bytes);
            }
            if (!isnan(c->ratio)) {
                cJSON_AddNumberToObject(j, "bound_bytes", c->bound_bytes);
                cJSON_AddNumberToObject(j, "ratio", c->ratio);
            }
            cJSON_AddBoolToObject(j, "kept", c->kept);
            cJSON_AddBoolToObject(j, "measure", c->kept && MEASURED(c->rank));
            cJSON_AddItemToArray(arr, j);
        }
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text)
            fprintf(cli->out, "%s\n", text);
        free(text);
        free(first);
        return;
    }
    if (cli->format == IOB_FMT_CSV) {
        if (!*csv_header_done)
            fprintf(cli->out, "layer,rank,config,pred_ms,pred_bytes,bound_bytes,ratio,kept,"
                              "measure\n");
        *csv_header_done = 1;
        for (size_t i = 0; i < s->count; i++) {
            const iob_tune_cand *c = &s->cands[i];
            char text[256];
            iob_config_format(&c->cfg, text, sizeof text);
            char v[4][32];
            const double x[4] = {c->pred_time_s * 1e3, c->pred_bytes, c->bound_bytes, c->ratio};
            for (int j = 0; j < 4; j++) /* an unknown value is an empty cell */
                snprintf(v[j], sizeof v[j], isnan(x[j]) ? "" : j == 0 ? "%.6g" : j == 3 ? "%.4g"
                                                                                     : "%.0f",
                         x[j]);
            fprintf(cli->out, "%s,%d,\"%s\",%s,%s,%s,%s,%d,%d\n", lname, c->rank, text, v[0],
                    v[1], v[2], v[3], c->kept, c->kept && MEASURED(c->rank));
        }
        free(first);
        return;
    }
    fprintf(cli->out, "\nlayer %s: %zu feasible configs, %zu within %.3gx the bound%s, "
            "%zu to measure (%.1f%% of the space)\n", lname, s->count, s->kept, s->factor_used,
            s->relaxed ? " (relaxed: none was within the factor)" : "", budget,
            s->count ? 100.0 * (double)budget / (double)s->count : 0.0);
    if (s->skipped[0])
        fprintf(cli->out, "  skipped: %s\n", s->skipped);
    iob_table t;
    iob_table_init(&t, 7);
    for (int c = 0; c < 6; c++)
        t.right[c] = c != 5;
    iob_table_rowf(&t, "rank\tpred ms\tpred L2\tbound\tratio\t \tconfig");
    size_t shown = (size_t)a->show > budget ? (size_t)a->show : budget;
    for (size_t i = 0; i < s->kept; i++) /* every config to be measured is shown */
        if (MEASURED(i) && i + 1 > shown)
            shown = i + 1;
    for (size_t i = 0; i < s->count && i < shown; i++) {
        const iob_tune_cand *c = &s->cands[i];
        char text[256], rank[16], r[32];
        iob_config_format(&c->cfg, text, sizeof text);
        snprintf(rank, sizeof rank, c->kept ? "%d" : "-", c->rank + 1);
        snprintf(r, sizeof r, isnan(c->ratio) ? "-" : "%.2f", c->ratio);
        iob_table_rowf(&t, "%s\t%s\t%s\t%s\t%s\t%s\t%s", rank,
                       ms(c->pred_time_s * 1e3, b1, sizeof b1),
                       c->predicted ? iob_fmt_bytes(c->pred_bytes, b2, sizeof b2) : "-",
                       isnan(c->bound_bytes) ? "-" : iob_fmt_bytes(c->bound_bytes, b3, sizeof b3),
                       r, !c->kept ? "pruned" : MEASURED(c->rank) ? "measure" : "kept",
                       text);
    }
    iob_table_print(&t, cli->out, IOB_FMT_TABLE);
    iob_table_free(&t);
    if (s->count > shown)
        fprintf(cli->out, "  ... %zu more (%zu kept, %zu pruned, %zu without a prediction)\n",
                s->count - shown, s->kept > shown ? s->kept - shown : 0,
                s->count - s->kept - s->unpredicted, s->unpredicted);
    free(first);
#undef MEASURED
}

static int dry_run(iob_cli *cli, const tune_args *a)
{
    iob_tune_source src = iob_tune_source_model();
    int rc = 0, csv_header_done = 0;
    for (size_t i = 0; i < cli->layers.count; i++) {
        const iob_layer *L = &cli->layers.items[i];
        iob_tune_space s;
        iob_error err;
        iob_status st = iob_tune_space_build(L, &cli->machine, &src, &a->opts, &s, &err);
        if (st) {
            fprintf(stderr, "%s: layer %s: %s\n", cli->prog, L->name[0] ? L->name : "-",
                    err.msg);
            rc = iob_status_exit_code(st);
            continue;
        }
        dry_run_layer(cli, a, L, &s, &csv_header_done);
        iob_tune_space_free(&s);
    }
    return rc;
}

/* ---- tuning ------------------------------------------------------------------------------ */

typedef struct session {
    iob_cli *cli;
    const tune_args *a;
    iob_measurer meas;
    iob_tune_source src;
    char db[4096];
    char hash[17];
    char device[128], sm[16];
    FILE *rec;             /* -o records, or NULL */
    iob_tune_rec_fmt rec_fmt;
    iob_tune_record_list all; /* resumed + new, for the table and the summary */
} session;

static void report_failures(const session *ss, const iob_layer *L, const iob_tune_result *res)
{
    for (int i = 0; i < res->nfailures; i++) {
        char text[256];
        iob_config_format(&res->failures[i].cfg, text, sizeof text);
        fprintf(stderr, "%s: layer %s: %s failed (%s): %s\n", ss->cli->prog,
                L->name[0] ? L->name : "-", text, iob_status_name(res->failures[i].status),
                res->failures[i].message);
    }
}

static void store_winner(session *ss, const iob_layer *L, const iob_tune_record *r)
{
    iob_tune_entry e;
    iob_tune_entry_from_record(L, r, ss->hash, &e);
    char warning[IOB_ERROR_MSG_MAX + 64];
    iob_error err;
    if (iob_tune_db_store(ss->db, ss->device, ss->sm, &e, 1, warning, sizeof warning, &err))
        fprintf(stderr, "%s: tuning database not updated: %s\n", ss->cli->prog, err.msg);
    else if (warning[0])
        fprintf(stderr, "%s: warning: %s\n", ss->cli->prog, warning);
}

/* Tunes one layer into r; returns 1 when the measurer cannot go on (stop the run). */
static int tune_one(session *ss, const iob_layer *L, iob_tune_record *r, int *rc)
{
    const tune_args *a = ss->a;
    iob_tune_compare cmp = {a->random, a->seed, a->exhaustive, a->exhaustive_max};
    iob_tune_result res;
    iob_error err;
    int stopped = 0;
    res.nfailures = 0;
    if (iob_tune_layer_record(L, &ss->cli->machine, &ss->src, &ss->meas, &a->opts, &cmp, r, &res,
                              &stopped, &err)) {
        *rc = iob_cli_fail(ss->cli, &err);
        return 1;
    }
    if (!strcmp(r->status, "error"))
        fprintf(stderr, "%s: layer %s: %s\n", ss->cli->prog, r->layer, r->message);
    else
        report_failures(ss, L, &res);
    if (!strcmp(r->status, "ok"))
        store_winner(ss, L, r);
    return stopped;
}

static void print_table(const session *ss)
{
    const tune_args *a = ss->a;
    iob_table t;
    int ncols = 10 + (a->random ? 1 : 0) + (a->exhaustive ? 2 : 0);
    iob_table_init(&t, ncols);
    for (int c = 1; c < ncols - 1; c++)
        t.right[c] = 1;
    char hdr[512] = "layer\ttime ms\tmeasured\ttune s\tcuDNN FP32 ms\tspeedup\t"
                    "cuDNN TF32 ms (TF32)\tfloor ms\tstatus";
    if (a->random)
        strcat(hdr, "\trandom ms");
    if (a->exhaustive)
        strcat(hdr, "\texhaustive ms\ttime/exhaustive");
    strcat(hdr, "\tconfig");
    iob_table_rowf(&t, "%s", hdr);
    for (size_t i = 0; i < ss->all.count; i++) {
        const iob_tune_record *r = &ss->all.items[i];
        char b[10][48], row[2048];
        snprintf(b[0], sizeof b[0], r->feasible >= 0 ? "%ld/%ld" : "-", r->measured, r->feasible);
        snprintf(b[1], sizeof b[1], isnan(r->tune_s) ? "-" : "%.2f", r->tune_s);
        snprintf(row, sizeof row, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r->layer[0] ? r->layer : "-",
                 ms(r->time_ms, b[2], sizeof b[2]), b[0], b[1],
                 ms(r->cudnn_fp32_ms, b[3], sizeof b[3]),
                 ratio_x(r->cudnn_fp32_ms, r->time_ms, b[4], sizeof b[4]),
                 ms(r->cudnn_tf32_ms, b[5], sizeof b[5]), ms(r->floor_ms, b[6], sizeof b[6]),
                 r->status);
        size_t n = strlen(row);
        if (a->random)
            n += (size_t)snprintf(row + n, sizeof row - n, "\t%s",
                                  ms(r->random_ms, b[7], sizeof b[7]));
        if (a->exhaustive)
            n += (size_t)snprintf(row + n, sizeof row - n, "\t%s\t%s",
                                  ms(r->exhaustive_ms, b[8], sizeof b[8]),
                                  ratio_x(r->time_ms, r->exhaustive_ms, b[9], sizeof b[9]));
        snprintf(row + n, sizeof row - n, "\t%s", r->config[0] ? r->config : r->message);
        iob_table_rowf(&t, "%s", row);
    }
    iob_table_print(&t, ss->cli->out, IOB_FMT_TABLE);
    iob_table_free(&t);
}

static void print_summary(const session *ss, const iob_tune_summary *s)
{
    FILE *out = ss->cli->out;
    fprintf(out, "\nsummary: %zu layers, %zu tuned\n", s->layers, s->tuned);
    if (s->with_cudnn)
        fprintf(out, "  speedup over cuDNN FP32 (FMA math): geometric mean %.3fx over %zu layers;"
                " worst %.3fx (%s); %zu below 0.9x\n", s->geomean_speedup, s->with_cudnn,
                s->worst_speedup, s->worst_layer[0] ? s->worst_layer : "-", s->below_0_9);
    if (s->with_tf32)
        fprintf(out, "  speedup over cuDNN with TF32 allowed (tensor cores, not FP32): geometric "
                "mean %.3fx over %zu layers\n", s->geomean_speedup_tf32, s->with_tf32);
    if (s->with_exhaustive)
        fprintf(out, "  within 5%% of exhaustive search: %.1f%% of %zu layers\n",
                100 * s->within5_fraction, s->with_exhaustive);
    if (s->with_random)
        fprintf(out, "  random search with the same budget: random time / tuned time, geometric "
                "mean %.3fx%s", s->geomean_over_random,
                s->random_with_exhaustive ? "" : "\n");
    if (s->random_with_exhaustive)
        fprintf(out, "; random within 5%% of exhaustive on %.1f%% of %zu layers\n",
                100 * s->random_within5_fraction, s->random_with_exhaustive);
    if (s->tuned)
        fprintf(out, "  measured at most %.2f%% of a feasible space; tuning time mean %.2f s, "
                "max %.2f s\n", 100 * s->max_measured_fraction, s->mean_tune_s, s->max_tune_s);
}

/* The layers already in the record file are skipped: the same spec, as many times as it is
 * there (a net may hold one shape under one name twice). */
static int take_done(iob_tune_record_list *done, int *used, const char *spec)
{
    for (size_t i = 0; i < done->count; i++)
        if (!used[i] && !strcmp(done->items[i].spec, spec)) {
            used[i] = 1;
            return (int)i;
        }
    return -1;
}

static int open_measurer(session *ss, iob_gpu_measurer *gm, iob_tune_worker **w)
{
    iob_error err;
    if (ss->a->no_worker) {
        iob_gpu_measurer_init(gm, NULL);
        ss->meas = iob_gpu_measurer_get(gm);
        return 0;
    }
    /* the same binary, as a fresh process: CUDA state does not survive a fork */
    char *argv[] = {"/proc/self/exe", "tune", "--worker", NULL};
    if (iob_tune_worker_open(argv, ss->a->timeout_s, w, &err))
        return iob_cli_fail(ss->cli, &err);
    ss->meas = iob_tune_worker_measurer(*w);
    return 0;
}

static int tune_all(iob_cli *cli, const tune_args *a)
{
    session ss;
    memset(&ss, 0, sizeof ss);
    ss.cli = cli;
    ss.a = a;
    ss.src = iob_tune_source_model();
    iob_tune_kernel_hash(ss.hash);
    int from_device = cli->machine_name && !strcmp(cli->machine_name, "device");
    snprintf(ss.device, sizeof ss.device, "%s", cli->machine.name);
    snprintf(ss.sm, sizeof ss.sm, "%d%d", cli->machine.cc_major, cli->machine.cc_minor);
    iob_error err;
    if (a->db)
        snprintf(ss.db, sizeof ss.db, "%s", a->db);
    else if (iob_tune_db_path(&cli->machine, from_device, ss.db, sizeof ss.db, &err))
        return iob_cli_fail(cli, &err);

    iob_tune_record_list done = {0};
    ss.rec_fmt = cli->format == IOB_FMT_CSV ? IOB_TUNE_REC_CSV : IOB_TUNE_REC_JSONL;
    if (a->records && iob_tune_records_open(a->records, ss.rec_fmt, &ss.rec, &done, &err)) {
        iob_tune_record_list_free(&done);
        return iob_cli_fail(cli, &err);
    }
    if (done.count)
        fprintf(stderr, "%s: resuming: %zu layers already in %s\n", cli->prog, done.count,
                a->records);
    int *used = calloc(done.count + 1, sizeof *used);
    iob_gpu_measurer gm;
    iob_tune_worker *w = NULL;
    int rc = used ? open_measurer(&ss, &gm, &w) : IOB_EXIT_RUNTIME;
    int tty = isatty(2), stopped = 0;
    for (size_t i = 0; !rc && i < cli->layers.count; i++) {
        const iob_layer *L = &cli->layers.items[i];
        iob_tune_record r;
        iob_tune_record_init(&r);
        iob_layer_format(L, r.spec, sizeof r.spec);
        int d = take_done(&done, used, r.spec);
        if (d >= 0) {
            if (iob_tune_record_list_push(&ss.all, &done.items[d], &err))
                rc = iob_cli_fail(cli, &err);
            continue;
        }
        if (stopped) {
            snprintf(r.layer, sizeof r.layer, "%s", L->name[0] ? L->name : "-");
            snprintf(r.status, sizeof r.status, "stopped");
            snprintf(r.message, sizeof r.message, "not tuned: the measurer stopped earlier");
        } else {
            stopped = tune_one(&ss, L, &r, &rc);
            if (rc)
                break;
            if (stopped)
                fprintf(stderr, "%s: %s; the remaining layers are not tuned\n", cli->prog,
                        r.message);
        }
        if (tty) {
            char t[32];
            fprintf(stderr, "[%zu/%zu] %s: %s, %s ms, %ld/%ld measured, %.2f s\n", i + 1,
                    cli->layers.count, r.layer, r.status, ms(r.time_ms, t, sizeof t),
                    r.measured, r.feasible, isnan(r.tune_s) ? 0.0 : r.tune_s);
        }
        /* a layer the measurer did not finish is left out, so that a rerun tunes it */
        if (ss.rec && strcmp(r.status, "stopped"))
            iob_tune_record_write(ss.rec, ss.rec_fmt, &r);
        if (iob_tune_record_list_push(&ss.all, &r, &err))
            rc = iob_cli_fail(cli, &err);
    }
    iob_tune_worker_close(w);
    if (ss.rec && fclose(ss.rec)) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, a->records, strerror(errno));
        rc = rc ? rc : IOB_EXIT_RUNTIME;
    }
    if (!rc) {
        iob_tune_summary sum;
        iob_tune_summarize(ss.all.items, ss.all.count, &sum);
        if (cli->format == IOB_FMT_TABLE || a->records) {
            print_table(&ss);
            print_summary(&ss, &sum);
        } else {
            if (cli->format == IOB_FMT_CSV) {
                iob_tune_record_csv_header(cli->out);
                fputc('\n', cli->out);
            }
            for (size_t i = 0; i < ss.all.count; i++)
                iob_tune_record_write(cli->out, ss.rec_fmt, &ss.all.items[i]);
        }
        rc = sum.tuned == sum.layers ? 0 : IOB_EXIT_RUNTIME;
    }
    free(used);
    iob_tune_record_list_free(&done);
    iob_tune_record_list_free(&ss.all);
    return rc;
}

/* ---- entry ------------------------------------------------------------------------------- */

static int serve_worker(void)
{
    iob_gpu_measurer gm;
    iob_gpu_measurer_init(&gm, NULL);
    iob_measurer m = iob_gpu_measurer_get(&gm);
    return iob_tune_worker_serve(stdin, stdout, &m);
}

int iob_cmd_tune(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound tune");
    tune_args a;
    memset(&a, 0, sizeof a);
    iob_tune_opts_default(&a.opts);
    a.seed = 1;
    a.show = 20;
    a.timeout_s = 120;
    static const struct option longopts[] = {
        IOB_COMMON_LONG_OPTIONS,
        {"top", required_argument, 0, OPT_TOP},
        {"factor", required_argument, 0, OPT_FACTOR},
        {"algo", required_argument, 0, OPT_ALGO},
        {"db", required_argument, 0, OPT_DB},
        {"compare", required_argument, 0, OPT_COMPARE},
        {"exhaustive-max", required_argument, 0, OPT_EXH_MAX},
        {"seed", required_argument, 0, OPT_SEED},
        {"budget-s", required_argument, 0, OPT_BUDGET},
        {"timeout-s", required_argument, 0, OPT_TIMEOUT},
        {"no-worker", no_argument, 0, OPT_NO_WORKER},
        {"worker", no_argument, 0, OPT_WORKER},
        {"dry-run", no_argument, 0, OPT_DRY_RUN},
        {"show", required_argument, 0, OPT_SHOW},
        {0, 0, 0, 0}};
    int opt, rc = 0;
    optind = 1;
    while (!rc && (opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == IOB_OPT_HELP) {
            printf(help, IOB_TUNE_DEFAULT_FACTOR, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        }
        if (opt == '?') {
            rc = iob_cli_usage_error(cli.prog, "unknown or incomplete option");
            break;
        }
        rc = tune_option(cli.prog, opt, optarg, &a);
        if (rc < 0) {
            rc = iob_cli_common_option(&cli, opt, optarg);
            if (rc < 0)
                rc = iob_cli_usage_error(cli.prog, "unexpected option");
        }
    }
    if (!rc && optind < argc)
        rc = iob_cli_usage_error(cli.prog, "unexpected argument '%s'", argv[optind]);
    if (!rc && a.worker) {
        iob_cli_free(&cli);
        return serve_worker();
    }
    if (!rc && !cli.have_layers && !cli.net)
        rc = iob_cli_usage_error(cli.prog, "give the layers: --net, --layers or --layer");
    iob_error err;
    int gpu = !a.dry_run && iob_gpu_available(&err) == IOB_OK;
    if (!rc && !cli.machine_name)
        cli.machine_name = gpu ? "device" : "h100-sxm";
    if (!rc)
        rc = iob_cli_finish(&cli, NULL);
    if (!rc && !a.dry_run && !gpu) {
        fprintf(stderr, "%s: no GPU here (%s): tuning measures configs on the GPU; "
                "--dry-run ranks them from the model alone\n", cli.prog, err.msg);
        rc = IOB_EXIT_RUNTIME;
    }
    if (!rc)
        rc = a.dry_run ? dry_run(&cli, &a) : tune_all(&cli, &a);
    iob_cli_free(&cli);
    return rc;
}
