/* cmd_validate.c - `iobound validate`: the validation sweep (bound, prediction, simulation and
 * measurement of each layer, algorithm and config, one record each, resumable), and
 * `iobound validate --summary FILE`: the statistics of such a file. docs/validate.md. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/validate.h"

static const char help[] =
    "usage: iobound validate (--net NAME | --layers FILE | --layer SPEC) -o FILE [--algo LIST]\n"
    "                        [--configs best|top:N|all] [--batch N] [--format csv|jsonl]\n"
    "                        [--machine NAME] [--no-measure] [--no-sim] [--reps N] [--timeout S]\n"
    "       iobound validate --summary FILE [--format table|csv|json] [-o OUT]\n"
    "\n"
    "Sweep: for each layer, algorithm and config, one record with the I/O lower bound, the\n"
    "model's predicted traffic per memory level, the simulator's (when it exists), the hardware\n"
    "counters and the time (when a GPU is present; otherwise it says so once and runs the model\n"
    "only), and cuDNN's best FP32 and TF32 times for the layer. Records are appended to FILE one\n"
    "by one and flushed; running the same command again resumes where it stopped (finished\n"
    "records are kept and skipped, a torn last line is removed). A config that fails becomes a\n"
    "record with its error. Ctrl-C stops after the current record.\n"
    "\n"
    "  -o, --output FILE  the record file (created or appended to)\n"
    "  --algo LIST        direct, winograd, im2col, im2win, gemm, winograd-nonfused or all\n"
    "                     (default), comma-separated\n"
    "  --configs WHICH    best: the model's time-optimal config (default); top:N: the N best by\n"
    "                     predicted time; all: every feasible config\n"
    "  --format FMT       csv (default; jsonl when FILE ends in .jsonl or .json) or jsonl\n"
    "  --no-measure       do not use the GPU even if one is present\n"
    "  --no-sim           leave the simulated columns empty (the simulator costs most of a\n"
    "                     sweep's time on large layers; tests hold it equal to the model)\n"
    "  --reps N           timed runs per measurement, the median is kept (default 20)\n"
    "  --timeout S        a measurement that takes longer than S seconds is an error (600)\n"
    "\n"
    "Summary: per level the median and 90th percentile of |predicted - measured| / measured\n"
    "(and simulated), the fit measured = a + b * predicted with r^2, the records whose traffic\n"
    "falls below the lower bound, and the best traffic over the bound per algorithm.\n"
    "  --summary FILE     read FILE (CSV or JSON Lines) and print its statistics\n"
    "  --format FMT       table (default), csv or json\n"
    "\n"
    "%s%s"
    "Exit status: 0 done (error records are results, not failures), 1 I/O or GPU trouble, 2 bad\n"
    "usage or input, 130 interrupted (run the same command to resume).\n";

/* ---- progress and notices (stderr) ---------------------------------------------------------- */

typedef struct ui {
    const char *prog;
    int tty;
    double last;
    int drawn;
} ui;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void clear_bar(ui *u)
{
    if (u->drawn) {
        fputs("\r\033[K", stderr);
        u->drawn = 0;
    }
}

static void on_notice(void *ctx, const char *line)
{
    ui *u = ctx;
    clear_bar(u);
    fprintf(stderr, "%s: %s\n", u->prog, line);
}

static void fmt_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static void on_progress(void *ctx, const iob_sweep_progress *p)
{
    ui *u = ctx;
    if (!u->tty)
        return;
    double t = now_s();
    if (p->done < p->total && t - u->last < 0.1)
        return; /* redraw at most ten times a second */
    u->last = t;
    const int width = 30;
    int fill = p->total ? (int)((double)width * (double)p->done / (double)p->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    char eta[32];
    fmt_duration(rate > 0 ? (double)(p->total - p->done) / rate : NAN, eta, sizeof eta);
    fprintf(stderr, "\r\033[K[%s] %zu/%zu  %.1f rec/s  %s left", bar, p->done, p->total, rate,
            eta);
    fflush(stderr);
    u->drawn = 1;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- the summary ---------------------------------------------------------------------------- */

static void pct(double v, char *buf, size_t size)
{
    if (isfinite(v))
        snprintf(buf, size, "%.2f%%", 100 * v);
    else
        snprintf(buf, size, "-");
}

static void num(double v, const char *fmt, char *buf, size_t size)
{
    if (isfinite(v))
        snprintf(buf, size, fmt, v);
    else
        snprintf(buf, size, "-");
}

static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static const char *tight_name(int a)
{
    return a == IOB_TIGHT_ALL ? "all" : iob_algo_name((iob_algo)a);
}

static int summary_json(iob_cli *cli, const char *path, const iob_summary *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", path);
    cJSON *c = cJSON_AddObjectToObject(root, "records");
    cJSON_AddNumberToObject(c, "total", (double)s->records);
    cJSON_AddNumberToObject(c, "ok", (double)s->ok);
    cJSON_AddNumberToObject(c, "error", (double)s->errors);
    cJSON_AddNumberToObject(c, "inapplicable", (double)s->inapplicable);
    cJSON_AddNumberToObject(c, "cudnn", (double)s->cudnn);
    cJSON_AddNumberToObject(c, "predicted", (double)s->predicted);
    cJSON_AddNumberToObject(c, "simulated", (double)s->simulated);
    cJSON_AddNumberToObject(c, "measured", (double)s->measured);
    cJSON *lv = cJSON_AddArrayToObject(root, "levels");
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        const iob_level_stats *ls = &s->level[l];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "level", iob_level_name((iob_level)l));
        cJSON_AddStringToObject(o, "unit", iob_level_unit((iob_level)l));
        cJSON_AddNumberToObject(o, "n_pred", (double)ls->n_pred);
        cJSON_AddItemToObject(o, "pred_abs_relerr_median", json_num(ls->pred_median));
        cJSON_AddItemToObject(o, "pred_abs_relerr_p90", json_num(ls->pred_p90));
        cJSON_AddNumberToObject(o, "n_sim", (double)ls->n_sim);
        cJSON_AddItemToObject(o, "sim_abs_relerr_median", json_num(ls->sim_median));
        cJSON_AddItemToObject(o, "sim_abs_relerr_p90", json_num(ls->sim_p90));
        cJSON_AddItemToObject(o, "fit_slope", json_num(ls->slope));
        cJSON_AddItemToObject(o, "fit_intercept", json_num(ls->intercept));
        cJSON_AddItemToObject(o, "fit_r2", json_num(ls->r2));
        cJSON_AddItemToArray(lv, o);
    }
    cJSON *snd = cJSON_AddObjectToObject(root, "soundness");
    const char *who[3] = {"predicted", "simulated", "measured"};
    size_t chk[3] = {s->checked_pred, s->checked_sim, s->checked_meas};
    size_t vio[3] = {s->violations_pred, s->violations_sim, s->violations_meas};
    for (int i = 0; i < 3; i++) {
        cJSON *o = cJSON_AddObjectToObject(snd, who[i]);
        cJSON_AddNumberToObject(o, "checked", (double)chk[i]);
        cJSON_AddNumberToObject(o, "below_bound", (double)vio[i]);
    }
    cJSON *tt = cJSON_AddArrayToObject(root, "tightness");
    for (int a = 0; a <= IOB_TIGHT_ALL; a++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "algo", tight_name(a));
        const iob_tightness *t2[2] = {&s->tight_meas[a], &s->tight_pred[a]};
        const char *key[2] = {"measured", "predicted"};
        for (int k = 0; k < 2; k++) {
            cJSON *q = cJSON_AddObjectToObject(o, key[k]);
            cJSON_AddNumberToObject(q, "groups", (double)t2[k]->groups);
            cJSON_AddItemToObject(q, "min", json_num(t2[k]->min));
            cJSON_AddItemToObject(q, "median", json_num(t2[k]->median));
            cJSON_AddItemToObject(q, "max", json_num(t2[k]->max));
        }
        cJSON_AddItemToArray(tt, o);
    }
    int rc = iob_cli_write_json(cli, root);
    cJSON_Delete(root);
    return rc;
}

/* CSV: one row per number (section, name, quantity, value), easy to filter and join. */
static int summary_csv(iob_cli *cli, const iob_summary *s)
{
    FILE *o = cli->out;
    char v[64];
    fprintf(o, "section,name,quantity,value\n");
    fprintf(o, "records,all,total,%zu\nrecords,all,ok,%zu\nrecords,all,error,%zu\n"
            "records,all,inapplicable,%zu\nrecords,all,cudnn,%zu\nrecords,all,predicted,%zu\n"
            "records,all,simulated,%zu\nrecords,all,measured,%zu\n", s->records, s->ok,
            s->errors, s->inapplicable, s->cudnn, s->predicted, s->simulated, s->measured);
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        const iob_level_stats *ls = &s->level[l];
        const char *name = iob_level_name((iob_level)l);
        const struct { const char *q; double x; } rows[] = {
            {"pred_abs_relerr_median", ls->pred_median}, {"pred_abs_relerr_p90", ls->pred_p90},
            {"sim_abs_relerr_median", ls->sim_median}, {"sim_abs_relerr_p90", ls->sim_p90},
            {"fit_slope", ls->slope}, {"fit_intercept", ls->intercept}, {"fit_r2", ls->r2}};
        fprintf(o, "level,%s,n_pred,%zu\nlevel,%s,n_sim,%zu\n", name, ls->n_pred, name,
                ls->n_sim);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            num(rows[i].x, "%.17g", v, sizeof v);
            fprintf(o, "level,%s,%s,%s\n", name, rows[i].q, isfinite(rows[i].x) ? v : "");
        }
    }
    fprintf(o, "soundness,predicted,checked,%zu\nsoundness,predicted,below_bound,%zu\n"
            "soundness,simulated,checked,%zu\nsoundness,simulated,below_bound,%zu\n"
            "soundness,measured,checked,%zu\nsoundness,measured,below_bound,%zu\n",
            s->checked_pred, s->violations_pred, s->checked_sim, s->violations_sim,
            s->checked_meas, s->violations_meas);
    for (int a = 0; a <= IOB_TIGHT_ALL; a++) {
        const iob_tightness *t2[2] = {&s->tight_meas[a], &s->tight_pred[a]};
        const char *key[2] = {"measured", "predicted"};
        for (int k = 0; k < 2; k++) {
            fprintf(o, "tightness_%s,%s,groups,%zu\n", key[k], tight_name(a), t2[k]->groups);
            const double x[3] = {t2[k]->min, t2[k]->median, t2[k]->max};
            const char *q[3] = {"min", "median", "max"};
            for (int i = 0; i < 3; i++) {
                num(x[i], "%.17g", v, sizeof v);
                fprintf(o, "tightness_%s,%s,%s,%s\n", key[k], tight_name(a), q[i],
                        isfinite(x[i]) ? v : "");
            }
        }
    }
    return ferror(o) ? IOB_EXIT_RUNTIME : 0;
}

static void summary_table(iob_cli *cli, const char *path, const iob_summary *s)
{
    FILE *o = cli->out;
    fprintf(o, "%s: %zu records (%zu ok, %zu with errors, %zu inapplicable; %zu of cuDNN); "
            "%zu predicted, %zu simulated, %zu measured\n\n", path, s->records, s->ok, s->errors,
            s->inapplicable, s->cudnn, s->predicted, s->simulated, s->measured);
    fprintf(o, "Relative error |x - measured| / measured per level, and the least-squares fit "
            "measured = a + b * predicted:\n");
    iob_table t;
    iob_table_init(&t, 11);
    for (int c = 2; c < 11; c++)
        t.right[c] = 1;
    iob_table_rowf(&t, "level\tunit\tn pred\tmedian\tp90\tn sim\tmedian\tp90\tslope b\t"
                   "intercept a\tr^2");
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        const iob_level_stats *ls = &s->level[l];
        char a[6][32];
        pct(ls->pred_median, a[0], 32);
        pct(ls->pred_p90, a[1], 32);
        pct(ls->sim_median, a[2], 32);
        pct(ls->sim_p90, a[3], 32);
        num(ls->slope, "%.4g", a[4], 32);
        num(ls->r2, "%.4f", a[5], 32);
        char ic[32];
        num(ls->intercept, "%.4g", ic, sizeof ic);
        iob_table_rowf(&t, "%s\t%s\t%zu\t%s\t%s\t%zu\t%s\t%s\t%s\t%s\t%s",
                       iob_level_label((iob_level)l), iob_level_unit((iob_level)l), ls->n_pred,
                       a[0], a[1], ls->n_sim, a[2], a[3], a[4], ic, a[5]);
    }
    iob_table_print(&t, o, IOB_FMT_TABLE);
    iob_table_free(&t);
    fprintf(o, "\nSoundness: SM<->L2 traffic (read + write) below the lower bound of all SMs "
            "(each one is a bug in the bound or the accounting):\n");
    fprintf(o, "  predicted  %zu checked, %zu below the bound\n", s->checked_pred,
            s->violations_pred);
    fprintf(o, "  simulated  %zu checked, %zu below the bound\n", s->checked_sim,
            s->violations_sim);
    fprintf(o, "  measured   %zu checked, %zu below the bound\n", s->checked_meas,
            s->violations_meas);
    fprintf(o, "\nTightness: least SM<->L2 traffic of a (layer, algorithm) over its lower bound "
            "(1 = optimal):\n");
    iob_table_init(&t, 9);
    for (int c = 1; c < 9; c++)
        t.right[c] = 1;
    iob_table_rowf(&t, "algorithm\tmeasured n\tmin\tmedian\tmax\tpredicted n\tmin\tmedian\t"
                   "max");
    for (int a = 0; a <= IOB_TIGHT_ALL; a++) {
        const iob_tightness *m = &s->tight_meas[a], *p = &s->tight_pred[a];
        if (!m->groups && !p->groups && a != IOB_TIGHT_ALL)
            continue;
        char x[6][32];
        num(m->min, "%.3f", x[0], 32);
        num(m->median, "%.3f", x[1], 32);
        num(m->max, "%.3f", x[2], 32);
        num(p->min, "%.3f", x[3], 32);
        num(p->median, "%.3f", x[4], 32);
        num(p->max, "%.3f", x[5], 32);
        iob_table_rowf(&t, "%s\t%zu\t%s\t%s\t%s\t%zu\t%s\t%s\t%s", tight_name(a), m->groups,
                       x[0], x[1], x[2], p->groups, x[3], x[4], x[5]);
    }
    iob_table_print(&t, o, IOB_FMT_TABLE);
    iob_table_free(&t);
}

static int run_summary(iob_cli *cli, const char *path)
{
    iob_record_list list = {0};
    iob_error err;
    if (iob_records_read(path, &list, &err))
        return iob_cli_fail(cli, &err);
    if (list.torn_bytes)
        fprintf(stderr, "%s: warning: %s: the last line is incomplete (%lld bytes, a record torn "
                "by an interrupted sweep), ignored\n", cli->prog, path,
                (long long)list.torn_bytes);
    iob_summary s;
    int rc = 0;
    if (iob_summary_compute(list.items, list.count, &s, &err))
        rc = iob_cli_fail(cli, &err);
    else if (cli->format == IOB_FMT_JSON)
        rc = summary_json(cli, path, &s);
    else if (cli->format == IOB_FMT_CSV)
        rc = summary_csv(cli, &s);
    else
        summary_table(cli, path, &s);
    iob_record_list_free(&list);
    return rc;
}

/* ---- options -------------------------------------------------------------------------------- */

static int parse_configs(const char *prog, const char *arg, iob_sweep_opts *o)
{
    if (!strcmp(arg, "best")) {
        o->select = IOB_CFG_BEST;
        return 0;
    }
    if (!strcmp(arg, "all")) {
        o->select = IOB_CFG_ALL;
        return 0;
    }
    if (!strncmp(arg, "top:", 4)) {
        char *end;
        errno = 0;
        long n = strtol(arg + 4, &end, 10);
        if (!errno && end != arg + 4 && !*end && n >= 1 && n <= 1000000) {
            o->select = IOB_CFG_TOP;
            o->top_n = (int)n;
            return 0;
        }
    }
    return iob_cli_usage_error(prog, "--configs %s: expected best, top:N (N from 1 to "
                               "1000000) or all", arg);
}

static int parse_positive(const char *prog, const char *opt, const char *arg, long max, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || *v < 1 || *v > max)
        return iob_cli_usage_error(prog, "%s %s: expected a whole number from 1 to %ld", opt,
                                   arg, max);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* --no-sim: the sweep's simulate stage answers "not requested" (the record says so). */
static iob_status no_simulation(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                double *levels, iob_error *err)
{
    (void)L, (void)cfg, (void)m, (void)levels;
    return iob_error_set(err, IOB_ENOTSUP, "simulation not requested (--no-sim)");
}

int iob_cmd_validate(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound validate");
    iob_sweep_opts so;
    iob_sweep_opts_default(&so);
    enum { OPT_ALGO = IOB_OPT_COMMON_END, OPT_CONFIGS, OPT_SUMMARY, OPT_NO_MEASURE, OPT_REPS,
           OPT_TIMEOUT, OPT_NO_SIM };
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"algo", required_argument, 0, OPT_ALGO},
                                             {"configs", required_argument, 0, OPT_CONFIGS},
                                             {"summary", required_argument, 0, OPT_SUMMARY},
                                             {"no-measure", no_argument, 0, OPT_NO_MEASURE},
                                             {"no-sim", no_argument, 0, OPT_NO_SIM},
                                             {"reps", required_argument, 0, OPT_REPS},
                                             {"timeout", required_argument, 0, OPT_TIMEOUT},
                                             {0, 0, 0, 0}};
    const char *summary = NULL, *format = NULL, *out = NULL;
    int rc = 0, sweep_opts_given = 0;
    long v;
    optind = 1;
    int opt;
    while (!rc && (opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
        case IOB_OPT_HELP:
            printf(help, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        case OPT_ALGO: {
            iob_algo_set set;
            rc = iob_cli_parse_algos(cli.prog, optarg, &set);
            memcpy(so.algos, set.on, sizeof so.algos);
            sweep_opts_given = 1;
            break;
        }
        case OPT_CONFIGS:
            rc = parse_configs(cli.prog, optarg, &so);
            sweep_opts_given = 1;
            break;
        case OPT_SUMMARY:
            summary = optarg;
            break;
        case OPT_NO_MEASURE:
            so.measure = 0;
            sweep_opts_given = 1;
            break;
        case OPT_NO_SIM:
            so.hooks.simulate = no_simulation;
            sweep_opts_given = 1;
            break;
        case OPT_REPS:
            rc = parse_positive(cli.prog, "--reps", optarg, 100000, &v);
            so.run.reps = (int)v;
            sweep_opts_given = 1;
            break;
        case OPT_TIMEOUT:
            rc = parse_positive(cli.prog, "--timeout", optarg, 86400, &v);
            so.measure_timeout_s = (double)v;
            sweep_opts_given = 1;
            break;
        case IOB_OPT_FORMAT: /* csv|jsonl for a sweep, table|csv|json for a summary */
            format = optarg;
            break;
        case 'o':
        case IOB_OPT_OUTPUT: /* not the common -o: that one truncates, a sweep appends */
            out = optarg;
            break;
        case IOB_OPT_MACHINE:
            if (!strcmp(optarg, "device")) { /* asked of the worker: CUDA stays out of here */
                so.machine_from_device = 1;
                break;
            }
            rc = iob_cli_common_option(&cli, opt, optarg);
            break;
        case '?':
            rc = iob_cli_usage_error(cli.prog, "unknown or incomplete option");
            break;
        default:
            rc = iob_cli_common_option(&cli, opt, optarg);
            if (rc < 0)
                rc = iob_cli_usage_error(cli.prog, "unexpected option");
            if (opt != IOB_OPT_FORMAT)
                sweep_opts_given = 1;
        }
    }
    if (!rc && optind < argc)
        rc = iob_cli_usage_error(cli.prog, "unexpected argument '%s'", argv[optind]);
    if (rc) {
        iob_cli_free(&cli);
        return rc;
    }

    if (summary) {
        if (sweep_opts_given || cli.have_layers || cli.net || so.machine_from_device) {
            iob_cli_free(&cli);
            return iob_cli_usage_error(cli.prog, "--summary takes only --format and -o");
        }
        if (format && iob_cli_common_option(&cli, IOB_OPT_FORMAT, format)) {
            iob_cli_free(&cli);
            return IOB_EXIT_USAGE;
        }
        cli.out_path = out;
        if (out && strcmp(out, "-") && !(cli.out = fopen(out, "w"))) {
            fprintf(stderr, "%s: %s: %s\n", cli.prog, out, strerror(errno));
            cli.out = stdout;
            iob_cli_free(&cli);
            return IOB_EXIT_RUNTIME;
        }
        rc = run_summary(&cli, summary);
        iob_cli_free(&cli);
        return rc;
    }

    /* the sweep */
    if (!out || !strcmp(out, "-")) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "a sweep needs -o FILE (records are appended to "
                                   "it, so that an interrupted sweep can resume)");
    }
    if (!cli.have_layers && !cli.net) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "give --net NAME, --layers FILE or --layer SPEC");
    }
    if (!format)
        so.format = ends_with(out, ".jsonl") || ends_with(out, ".json") ? IOB_RECFMT_JSONL
                                                                        : IOB_RECFMT_CSV;
    else if (!strcmp(format, "csv"))
        so.format = IOB_RECFMT_CSV;
    else if (!strcmp(format, "jsonl"))
        so.format = IOB_RECFMT_JSONL;
    else {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "--format %s: a sweep writes csv or jsonl", format);
    }
    if ((rc = iob_cli_finish(&cli, NULL))) {
        iob_cli_free(&cli);
        return rc;
    }
    so.layers = cli.layers.items;
    so.nlayers = cli.layers.count;
    so.machine = cli.machine;
    so.path = out;
    ui u = {.prog = cli.prog, .tty = isatty(STDERR_FILENO)};
    so.progress = on_progress;
    so.notice = on_notice;
    so.ctx = &u;
    so.stop = &interrupted;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);

    iob_sweep_result res;
    iob_error err = {0};
    iob_status st = iob_sweep_run(&so, &res, &err);
    sigaction(SIGINT, &old, NULL);
    if (u.drawn)
        fputc('\n', stderr);
    if (st) {
        rc = iob_cli_fail(&cli, &err);
        iob_cli_free(&cli);
        return rc;
    }
    if (res.repaired_bytes)
        fprintf(stderr, "%s: %s: removed a torn last line (%lld bytes) left by an interrupted "
                "sweep\n", cli.prog, out, (long long)res.repaired_bytes);
    fprintf(stderr, "%s: %s: %zu new records (%zu with errors), %zu already there, %zu written "
            "by another process; %s%s\n", cli.prog, out, res.written, res.errors, res.skipped,
            res.duplicates, res.measured ? "measured on the GPU" : "not measured",
            res.worker_restarts ? ", measurement worker restarted" : "");
    if (res.interrupted) {
        fprintf(stderr, "%s: interrupted; run the same command to resume\n", cli.prog);
        rc = 130;
    }
    iob_cli_free(&cli);
    return rc;
}
