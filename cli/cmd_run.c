/* cmd_run.c - `iobound run`: checked, timed runs of a config, a reference path or cuDNN's
 * algorithms on the present GPU, with the roofline floor and the best cuDNN FP32 time beside
 * (protocol: docs/gpu.md). Hidden option --ncu-child: the single untimed run that
 * `iobound measure --via ncu` profiles under Nsight Compute. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_cli.h"

static const char help[] =
    "usage: iobound run (--layer SPEC | --layers FILE | --net NAME) --algo A\n"
    "                   [--config C|best|tuned [--db FILE]] [--reps N] [--warmup N] [--seed S]\n"
    "                   [--cudnn]\n"
    "                   [--no-baseline] [--check-samples N] [--format F] [-o FILE]\n"
    "\n"
    "Runs each layer on the present GPU: the kernels are compiled through NVRTC (cached on\n"
    "disk), the inputs drawn from --seed, the output poisoned before every run and checked\n"
    "against an FP64 reference; the time is the median of --reps runs between CUDA events,\n"
    "the L2 flushed before each. Prints the time, TFLOP/s, the roofline floor of the layer on\n"
    "this GPU (max of FLOPs / FP32 rate and compulsory bytes / DRAM bandwidth), the time of the\n"
    "fastest cuDNN FP32 (FMA math) algorithm run in the same process and the ratio, and the\n"
    "largest relative error (docs/gpu.md defines it).\n"
    "\n"
    "  --algo A           direct, winograd, im2col, im2win, gemm, winograd-nonfused (a dataflow:\n"
    "                     needs --config; winograd-nonfused: our transforms around cuBLAS's\n"
    "                     FP32 batched SGEMM, config wino_m=2 or 4),\n"
    "                     naive (one thread per output), im2col-cublas (gather + cuBLAS SGEMM,\n"
    "                     FP32 pedantic math), or cudnn (every cuDNN algorithm, FMA and\n"
    "                     TF32-allowed math, each labelled)\n"
    "  --config C         a config (\"tile_k=64,tile_p=4,...\"), best (the model's time-optimal\n"
    "                     config) or tuned (the tuning database's pick for the layer on this\n"
    "                     device, from `iobound tune`; --algo may then be left out)\n"
    "  --db FILE          the tuning database of --config tuned (default: iobound tune's)\n"
    "  --reps N           timed runs (default 20); --warmup N untimed runs first (default 3)\n"
    "  --seed S           inputs and filters drawn from S (default 1)\n"
    "  --cudnn            also compare the output with cuDNN's\n"
    "  --no-baseline      do not time cuDNN beside (faster)\n"
    "  --check-samples N  outputs compared with the reference (default: all for small layers,\n"
    "                     20000 seeded ones otherwise)\n"
    "  -v, --verbose      on a compile error, print NVRTC's whole log\n"
    "%s"
    "\n"
    "Without a GPU it says so in one line and exits 1.\n";

enum {
    OPT_ALGO = IOB_OPT_COMMON_END,
    OPT_CONFIG,
    OPT_REPS,
    OPT_WARMUP,
    OPT_SEED,
    OPT_CUDNN,
    OPT_NO_BASELINE,
    OPT_SAMPLES,
    OPT_VERBOSE,
    OPT_NCU_CHILD,
    OPT_CUDNN_ALGO,
    OPT_TF32,
    OPT_DB
};

typedef struct run_args {
    iob_cli_algo algo;
    const char *algo_text, *config, *cudnn_algo, *db;
    iob_run_opts opts;
    int baseline, verbose, ncu_child, tf32;
} run_args;

static int parse_num(const char *prog, const char *opt, const char *arg, long long lo,
                     long long hi, long long *out)
{
    char *end;
    long long v = strtoll(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi)
        return iob_cli_usage_error(prog, "%s %s: expected a whole number from %lld to %lld", opt,
                                   arg, lo, hi);
    *out = v;
    return 0;
}

static const char *status_word(iob_status st)
{
    return st == IOB_OK ? "ok" : st == IOB_ECHECK ? "WRONG" : "error";
}

/* The fastest cuDNN FMA-math algorithm that ran correctly (time 0 when none). */
static void best_fma(const iob_cudnn_result *r, int n, double *ms, const char **name)
{
    *ms = 0;
    *name = "-";
    for (int i = 0; i < n; i++)
        if (!r[i].tf32 && r[i].status == IOB_OK && (*ms == 0 || r[i].time_ms < *ms)) {
            *ms = r[i].time_ms;
            *name = r[i].algo;
        }
}

static void layer_cells(const iob_layer *L, char *shape, size_t size)
{
    snprintf(shape, size, "n%lld c%lld %lldx%lld k%lld %lldx%lld /%lld", (long long)L->n,
             (long long)L->c, (long long)L->h, (long long)L->w, (long long)L->k, (long long)L->r,
             (long long)L->s, (long long)L->stride_h);
}

/* --algo cudnn: every baseline of every layer. */
static int run_cudnn(iob_cli *cli, const run_args *a, const iob_machine *m)
{
    iob_table t;
    iob_table_init(&t, 9);
    t.right[3] = t.right[4] = t.right[5] = t.right[6] = 1;
    iob_table_rowf(&t, "layer\talgorithm\tmath\ttime ms\tTFLOP/s\tworkspace\tmax rel err\t"
                   "status\tmessage");
    cJSON *root = cJSON_CreateArray();
    int rc = 0;
    for (size_t li = 0; li < cli->layers.count; li++) {
        const iob_layer *L = &cli->layers.items[li];
        iob_cudnn_result res[32];
        int n = 0;
        iob_error err;
        iob_layer_counts c;
        iob_layer_counts_get(L, &c, NULL);
        if (iob_gpu_cudnn(L, &a->opts, res, 32, &n, &err)) {
            rc = iob_cli_fail(cli, &err);
            if (!strncmp(err.msg, "sticky", 6))
                break;
            continue;
        }
        cJSON *jl = iob_cli_layer_json(L);
        cJSON *ja = cJSON_AddArrayToObject(jl, "cudnn");
        for (int i = 0; i < n; i++) {
            char ws[32];
            double tf = res[i].time_ms > 0 ? (double)c.flops / (res[i].time_ms * 1e-3) / 1e12 : 0;
            iob_table_rowf(&t, "%s\t%s\t%s\t%.4f\t%.2f\t%s\t%.2e\t%s\t%s",
                           i ? "" : (L->name[0] ? L->name : "-"), res[i].algo,
                           res[i].tf32 ? "TF32 allowed" : "FMA (FP32)", res[i].time_ms, tf,
                           iob_fmt_bytes((double)res[i].workspace_bytes, ws, sizeof ws),
                           res[i].max_rel_err, status_word(res[i].status), res[i].message);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "algo", res[i].algo);
            cJSON_AddStringToObject(o, "math", res[i].tf32 ? "tf32" : "fma");
            cJSON_AddStringToObject(o, "status", iob_status_name(res[i].status));
            cJSON_AddNumberToObject(o, "time_ms", res[i].time_ms);
            cJSON_AddNumberToObject(o, "tflops", tf);
            cJSON_AddNumberToObject(o, "workspace_bytes", (double)res[i].workspace_bytes);
            cJSON_AddNumberToObject(o, "max_rel_err", res[i].max_rel_err);
            cJSON_AddStringToObject(o, "message", res[i].message);
            cJSON_AddItemToArray(ja, o);
            if (res[i].status == IOB_ECHECK)
                rc = rc ? rc : IOB_EXIT_RUNTIME;
        }
        cJSON_AddItemToArray(root, jl);
    }
    if (cli->format == IOB_FMT_JSON) {
        int r2 = iob_cli_write_json(cli, root);
        rc = rc ? rc : r2;
    } else {
        if (cli->format == IOB_FMT_TABLE)
            iob_cli_gpu_header(cli->out, m);
        iob_table_print(&t, cli->out, cli->format);
    }
    cJSON_Delete(root);
    iob_table_free(&t);
    return rc;
}

/* The single run profiled by `measure --via ncu`: no warm-up, no flush (ncu flushes), checked. */
static int run_ncu_child(iob_cli *cli, run_args *a, const iob_machine *m)
{
    iob_run_opts o = a->opts;
    o.warmup = 0;
    o.reps = 1;
    o.flush_l2 = 0;
    o.check = 1;
    for (size_t li = 0; li < cli->layers.count; li++) {
        iob_gpu_target t;
        iob_run_result r;
        iob_error err;
        const iob_layer *L = &cli->layers.items[li];
        if (iob_cli_target(&a->algo, a->config, a->db, L, m, &t, &err))
            return iob_cli_fail(cli, &err);
        if (t.kind == IOB_TARGET_CUDNN) {
            snprintf(t.cudnn_algo, sizeof t.cudnn_algo, "%s", a->cudnn_algo ? a->cudnn_algo : "");
            t.tf32 = a->tf32;
        }
        if (iob_gpu_run_target(L, &t, &o, &r, &err))
            return iob_cli_fail(cli, &err);
    }
    return 0;
}

int iob_cmd_run(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound run");
    run_args a;
    memset(&a, 0, sizeof a);
    iob_run_opts_default(&a.opts);
    a.baseline = 1;
    static const struct option longopts[] = {
        IOB_COMMON_LONG_OPTIONS,
        {"algo", required_argument, 0, OPT_ALGO},
        {"config", required_argument, 0, OPT_CONFIG},
        {"reps", required_argument, 0, OPT_REPS},
        {"warmup", required_argument, 0, OPT_WARMUP},
        {"seed", required_argument, 0, OPT_SEED},
        {"cudnn", no_argument, 0, OPT_CUDNN},
        {"no-baseline", no_argument, 0, OPT_NO_BASELINE},
        {"check-samples", required_argument, 0, OPT_SAMPLES},
        {"verbose", no_argument, 0, OPT_VERBOSE},
        {"ncu-child", no_argument, 0, OPT_NCU_CHILD},
        {"cudnn-algo", required_argument, 0, OPT_CUDNN_ALGO},
        {"tf32", no_argument, 0, OPT_TF32},
        {"db", required_argument, 0, OPT_DB},
        {0, 0, 0, 0}};
    int opt, rc = 0;
    long long v;
    iob_machine m;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:hv", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
        case IOB_OPT_HELP:
            printf(help, iob_cli_common_help);
            iob_cli_free(&cli);
            return 0;
        case OPT_ALGO:
            a.algo_text = optarg;
            rc = iob_cli_algo_parse(cli.prog, optarg, &a.algo);
            break;
        case OPT_CONFIG:
            a.config = optarg;
            break;
        case OPT_REPS:
            if (!(rc = parse_num(cli.prog, "--reps", optarg, 1, 100000, &v)))
                a.opts.reps = (int)v;
            break;
        case OPT_WARMUP:
            if (!(rc = parse_num(cli.prog, "--warmup", optarg, 0, 100000, &v)))
                a.opts.warmup = (int)v;
            break;
        case OPT_SEED:
            if (!(rc = parse_num(cli.prog, "--seed", optarg, 0, 0x7fffffffffffffffLL, &v)))
                a.opts.seed = (uint64_t)v;
            break;
        case OPT_SAMPLES:
            if (!(rc = parse_num(cli.prog, "--check-samples", optarg, 2, 2147483647, &v)))
                a.opts.check_samples = (int)v;
            break;
        case OPT_CUDNN:
            a.opts.with_cudnn = 1;
            break;
        case OPT_NO_BASELINE:
            a.baseline = 0;
            break;
        case 'v':
        case OPT_VERBOSE:
            a.verbose = 1;
            break;
        case OPT_NCU_CHILD:
            a.ncu_child = 1;
            break;
        case OPT_CUDNN_ALGO:
            a.cudnn_algo = optarg;
            break;
        case OPT_TF32:
            a.tf32 = 1;
            break;
        case OPT_DB:
            a.db = optarg;
            break;
        default:
            rc = iob_cli_gpu_option(&cli, opt, optarg);
        }
        if (rc) {
            iob_cli_free(&cli);
            return rc;
        }
    }
    rc = iob_cli_gpu_finish(&cli, argc, argv, a.algo_text, &a.algo, a.config, &m);
    if (rc) {
        iob_cli_free(&cli);
        return rc;
    }
    iob_error err;
    if (a.ncu_child) {
        rc = run_ncu_child(&cli, &a, &m);
        iob_cli_free(&cli);
        return rc;
    }
    if (a.algo.kind == IOB_CLI_ALGO_CUDNN) {
        rc = run_cudnn(&cli, &a, &m);
        iob_cli_free(&cli);
        return rc;
    }

    iob_table t;
    iob_table_init(&t, 13);
    for (int c = 3; c < 11; c++)
        t.right[c] = 1;
    iob_table_rowf(&t, "layer\tshape\ttarget\ttime ms\tTFLOP/s\tfloor ms\tx floor\tcuDNN FP32 ms\t"
                   "x cuDNN\tmax rel err\ttolerance\tcheck\tcuDNN algorithm");
    cJSON *root = cJSON_CreateArray();
    for (size_t li = 0; li < cli.layers.count; li++) {
        const iob_layer *L = &cli.layers.items[li];
        iob_gpu_target tg;
        iob_run_result r;
        memset(&r, 0, sizeof r);
        char label[160] = "?", shape[160];
        layer_cells(L, shape, sizeof shape);
        iob_status st = iob_cli_target(&a.algo, a.config, a.db, L, &m, &tg, &err);
        if (!st) {
            iob_gpu_target_label(&tg, label, sizeof label);
            st = iob_gpu_run_target(L, &tg, &a.opts, &r, &err);
        }
        if (st && st != IOB_ECHECK) {
            rc = iob_cli_fail(&cli, &err);
            if (a.verbose && iob_gpu_compile_log()[0])
                fprintf(stderr, "%s", iob_gpu_compile_log());
            if (!strncmp(err.msg, "sticky", 6))
                break;
            continue;
        }
        if (st == IOB_ECHECK) {
            iob_cli_fail(&cli, &err);
            rc = IOB_EXIT_RUNTIME;
        }
        double base_ms = 0;
        const char *base_name = "-";
        if (a.baseline) {
            iob_cudnn_result res[32];
            int n = 0;
            iob_run_opts bo = a.opts;
            bo.with_cudnn = 0;
            iob_error berr;
            if (iob_gpu_cudnn(L, &bo, res, 32, &n, &berr) == IOB_OK)
                best_fma(res, n, &base_ms, &base_name);
            else
                fprintf(stderr, "%s: cuDNN baseline: %s\n", cli.prog, berr.msg);
        }
        const char *which;
        double floor_ms = iob_cli_floor_s(L, &m, &which) * 1e3;
        iob_table_rowf(&t, "%s\t%s\t%s\t%.4f\t%.2f\t%.4f\t%.2f\t%.4f\t%.2f\t%.2e\t%.0e\t%s\t%s",
                       L->name[0] ? L->name : "-", shape, label, r.time_ms, r.tflops, floor_ms,
                       floor_ms > 0 ? r.time_ms / floor_ms : 0, base_ms,
                       base_ms > 0 ? r.time_ms / base_ms : 0, r.max_rel_err, r.tolerance,
                       status_word(st), base_name);
        cJSON *o = iob_cli_layer_json(L);
        cJSON_AddStringToObject(o, "target", label);
        cJSON_AddStringToObject(o, "status", iob_status_name(st));
        cJSON_AddNumberToObject(o, "time_ms", r.time_ms);
        cJSON_AddNumberToObject(o, "time_ms_min", r.time_ms_min);
        cJSON_AddNumberToObject(o, "time_ms_max", r.time_ms_max);
        cJSON_AddNumberToObject(o, "reps", r.reps);
        cJSON_AddNumberToObject(o, "tflops", r.tflops);
        cJSON_AddNumberToObject(o, "floor_ms", floor_ms);
        cJSON_AddStringToObject(o, "floor_limiter", which);
        cJSON_AddNumberToObject(o, "cudnn_fp32_ms", base_ms);
        cJSON_AddStringToObject(o, "cudnn_fp32_algo", base_name);
        cJSON_AddNumberToObject(o, "max_rel_err", r.max_rel_err);
        cJSON_AddNumberToObject(o, "max_rel_err_cudnn", r.max_rel_err_cudnn);
        cJSON_AddNumberToObject(o, "tolerance", r.tolerance);
        cJSON_AddNumberToObject(o, "checked_elems", (double)r.checked_elems);
        cJSON_AddNumberToObject(o, "prep_ms", r.prep_ms);
        cJSON_AddNumberToObject(o, "compile_ms", r.compile_ms);
        cJSON_AddNumberToObject(o, "cache_hits", r.cache_hits);
        cJSON_AddNumberToObject(o, "cache_misses", r.cache_misses);
        cJSON_AddNumberToObject(o, "device_bytes", (double)r.device_bytes);
        cJSON_AddItemToArray(root, o);
        if (a.opts.with_cudnn && cli.format == IOB_FMT_TABLE)
            fprintf(stderr, "%s: %s: max relative difference to cuDNN's output %.2e\n", cli.prog,
                    L->name[0] ? L->name : shape, r.max_rel_err_cudnn);
    }
    if (cli.format == IOB_FMT_JSON) {
        int r2 = iob_cli_write_json(&cli, root);
        rc = rc ? rc : r2;
    } else {
        if (cli.format == IOB_FMT_TABLE)
            iob_cli_gpu_header(cli.out, &m);
        iob_table_print(&t, cli.out, cli.format);
    }
    cJSON_Delete(root);
    iob_table_free(&t);
    iob_cli_free(&cli);
    return rc;
}
