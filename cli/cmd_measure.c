/* cmd_measure.c - `iobound measure`: hardware counters of one run (per kernel and in sum) against
 * the lower bound and the model's prediction, level by level (docs/counters.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_cli.h"

static const char help[] =
    "usage: iobound measure (--layer SPEC | --layers FILE | --net NAME) --algo A [--config C]\n"
    "                       [--via cupti|ncu] [--db FILE] [--seed S] [--format F] [-o FILE]\n"
    "\n"
    "Measures one run of each layer with hardware counters - in-process through the CUPTI\n"
    "Range Profiler (default) or by re-running iobound under Nsight Compute (--via ncu) - the\n"
    "L2 flushed by a read before each kernel, the output checked after profiling. Per level:\n"
    "the lower bound (iob_bound_layer, FP32 bytes), the model's prediction for the config, the\n"
    "measured value, measured/predicted - 1 and measured/bound; then each kernel's counters.\n"
    "\n"
    "  --algo A       as for `iobound run`; cudnn measures cuDNN's fastest FP32 (FMA) algorithm\n"
    "                 per kernel and in sum, with its traffic relative to the bound\n"
    "  --config C     a config, best or tuned (model algorithms only)\n"
    "  --db FILE      the tuning database of --config tuned (default: iobound tune's)\n"
    "  --via V        cupti (default) or ncu ($IOB_NCU, default `ncu` on the PATH)\n"
    "  --seed S       inputs drawn from S (default 1)\n"
    "%s%s"
    "\n"
    "Levels: SM<-L2 read = l1tex__m_xbar2l1tex_read_sectors x 32 bytes (what the crossbar\n"
    "delivered to the SMs, what the model counts); L2-slice read =\n"
    "lts__t_sectors_srcunit_tex_op_read x 32 (the L2 slices' count, lower where requests of\n"
    "several SMs to one sector merge; measured only); SM->L2 write =\n"
    "lts__t_sectors_srcunit_tex_op_write x 32; DRAM = dram__bytes_read/write; shared =\n"
    "sm__sass_data_bytes_mem_shared; FFMA = sm__sass_thread_inst_executed_op_ffma_pred_on\n"
    "(docs/counters.md).\n";

enum { OPT_ALGO = IOB_OPT_COMMON_END, OPT_CONFIG, OPT_VIA, OPT_SEED, OPT_DB };

#define MAXK 64

typedef struct level_row {
    const char *name;
    double bound, predicted, measured;
    int is_count;
} level_row;

static void fmt_val(double v, int is_count, char *buf, size_t size)
{
    if (isnan(v) || v < 0)
        snprintf(buf, size, "-");
    else if (is_count)
        iob_fmt_count(v, buf, size);
    else
        iob_fmt_bytes(v, buf, size);
}

static void fmt_ratio(double a, double b, int minus_one, char *buf, size_t size)
{
    if (isnan(a) || isnan(b) || a < 0 || b <= 0)
        snprintf(buf, size, "-");
    else if (minus_one)
        snprintf(buf, size, "%+.1f%%", 100.0 * (a / b - 1));
    else
        snprintf(buf, size, "%.2fx", a / b);
}

/* The lowest SM<->L2 bound (bytes, all SMs) over the applicable variants of an algorithm. */
static double bound_bytes(const iob_layer *L, iob_algo algo, const iob_machine *m)
{
    iob_bound b[16];
    int n = 0;
    iob_bound_opts bo = iob_bound_opts_for(m, 4);
    if (iob_bound_layer(L, algo, &bo, b, 16, &n, NULL))
        return NAN;
    double best = NAN;
    for (int i = 0; i < n; i++)
        if (b[i].applicable && (isnan(best) || b[i].bound_gpu * 4 < best))
            best = b[i].bound_gpu * 4;
    return best;
}

static const char *const csv_cols[] = {
    "name", "target", "kernel", "l2_read_bytes", "sm_read_bytes", "l2_write_bytes",
    "dram_read_bytes", "dram_write_bytes", "l1_global_load_bytes", "smem_bytes", "ffma",
    "duration_ns", "bound_l2_bytes", "bound_algo", "pred_l2_read_bytes", "pred_l2_write_bytes",
    "pred_dram_read_bytes", "pred_dram_write_bytes", "pred_smem_bytes", "pred_ffma",
    "pred_time_ns", "macs", "compulsory_bytes"};
#define NCSV (int)(sizeof csv_cols / sizeof csv_cols[0])
/* index of the first column after the measured ones */
#define CSV_BOUND 12

static void csv_row(iob_table *t, const iob_layer *L, const char *target, const iob_counters *c,
                    double bound, const char *balgo, const iob_traffic *tr, int have_pred,
                    const iob_layer_counts *lc)
{
    char cell[NCSV][128];
    const char *row[NCSV];
    snprintf(cell[0], 128, "%s", L->name);
    snprintf(cell[1], 128, "%s", target);
    snprintf(cell[2], 128, "%s", c->kernel);
    double v[] = {c->l2_read_sectors * 32, c->sm_read_sectors * 32, c->l2_write_sectors * 32,
                  c->dram_read_bytes, c->dram_write_bytes, c->l1_global_load_bytes,
                  c->smem_bytes, c->ffma, c->duration_ns};
    _Static_assert(3 + sizeof v / sizeof v[0] == CSV_BOUND, "measured columns");
    for (int i = 0; i < 9; i++) { /* a metric not measured (ncu: "n/a") is an empty cell */
        if (isnan(v[i]))
            cell[3 + i][0] = '\0';
        else
            snprintf(cell[3 + i], 128, "%.0f", v[i]);
    }
    for (int i = CSV_BOUND; i < NCSV; i++)
        cell[i][0] = '\0';
    const int B = CSV_BOUND;
    if (bound >= 0) {
        snprintf(cell[B], 128, "%.0f", bound);
        snprintf(cell[B + 1], 128, "%s", balgo);
        snprintf(cell[B + 9], 128, "%llu", (unsigned long long)lc->macs);
        snprintf(cell[B + 10], 128, "%llu", (unsigned long long)lc->compulsory_elems * 4);
    }
    if (have_pred) {
        snprintf(cell[B + 2], 128, "%llu", (unsigned long long)tr->l2_read_bytes);
        snprintf(cell[B + 3], 128, "%llu", (unsigned long long)tr->l2_write_bytes);
        snprintf(cell[B + 4], 128, "%.0f", tr->dram_read_bytes);
        snprintf(cell[B + 5], 128, "%.0f", tr->dram_write_bytes);
        snprintf(cell[B + 6], 128, "%llu", (unsigned long long)(tr->smem_read_bytes +
                                                               tr->smem_write_bytes));
        snprintf(cell[B + 7], 128, "%llu", (unsigned long long)tr->ffma);
        snprintf(cell[B + 8], 128, "%.0f", tr->time_s * 1e9);
    }
    for (int i = 0; i < NCSV; i++)
        row[i] = cell[i];
    iob_table_row(t, row);
}

static cJSON *counters_json(const iob_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kernel", c->kernel);
    cJSON_AddNumberToObject(o, "l2_read_bytes", c->l2_read_sectors * 32);
    cJSON_AddNumberToObject(o, "sm_read_bytes", c->sm_read_sectors * 32);
    cJSON_AddNumberToObject(o, "l2_write_bytes", c->l2_write_sectors * 32);
    cJSON_AddNumberToObject(o, "dram_read_bytes", c->dram_read_bytes);
    cJSON_AddNumberToObject(o, "dram_write_bytes", c->dram_write_bytes);
    cJSON_AddNumberToObject(o, "l1_global_load_bytes", c->l1_global_load_bytes);
    cJSON_AddNumberToObject(o, "smem_bytes", c->smem_bytes);
    cJSON_AddNumberToObject(o, "ffma", c->ffma);
    cJSON_AddNumberToObject(o, "duration_ns", c->duration_ns);
    return o;
}

int iob_cmd_measure(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound measure");
    iob_cli_algo algo;
    const char *algo_text = NULL, *config = NULL, *db = NULL;
    iob_counter_via via = IOB_VIA_CUPTI;
    iob_run_opts opts;
    iob_run_opts_default(&opts);
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"algo", required_argument, 0, OPT_ALGO},
                                             {"config", required_argument, 0, OPT_CONFIG},
                                             {"via", required_argument, 0, OPT_VIA},
                                             {"seed", required_argument, 0, OPT_SEED},
                                             {"db", required_argument, 0, OPT_DB},
                                             {0, 0, 0, 0}};
    int opt, rc = 0;
    iob_machine m;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
        case IOB_OPT_HELP:
            printf(help, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        case OPT_ALGO:
            algo_text = optarg;
            rc = iob_cli_algo_parse(cli.prog, optarg, &algo);
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_VIA:
            if (!strcmp(optarg, "cupti"))
                via = IOB_VIA_CUPTI;
            else if (!strcmp(optarg, "ncu"))
                via = IOB_VIA_NCU;
            else
                rc = iob_cli_usage_error(cli.prog, "--via %s: expected cupti or ncu", optarg);
            break;
        case OPT_SEED: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (end == optarg || *end || v < 0)
                rc = iob_cli_usage_error(cli.prog, "--seed %s: expected a whole number >= 0",
                                         optarg);
            opts.seed = (uint64_t)v;
            break;
        }
        default:
            rc = iob_cli_gpu_option(&cli, opt, optarg);
        }
        if (rc) {
            iob_cli_free(&cli);
            return rc;
        }
    }
    rc = iob_cli_gpu_finish(&cli, argc, argv, algo_text, &algo, config, &m);
    if (rc) {
        iob_cli_free(&cli);
        return rc;
    }
    iob_error err;
    cJSON *root = cJSON_CreateArray();
    iob_table csv;
    if (cli.format == IOB_FMT_CSV) {
        iob_table_init(&csv, NCSV);
        iob_table_row(&csv, csv_cols);
    } else if (cli.format == IOB_FMT_TABLE) {
        iob_cli_gpu_header(cli.out, &m);
    }
    for (size_t li = 0; li < cli.layers.count; li++) {
        const iob_layer *L = &cli.layers.items[li];
        iob_gpu_target t;
        iob_counters per[MAXK], sum;
        int nk = 0;
        char label[160] = "?";
        iob_status st = iob_cli_target(&algo, config, db, L, &m, &t, &err);
        if (!st) {
            iob_gpu_target_label(&t, label, sizeof label);
            st = iob_gpu_measure_target(L, &t, &opts, via, per, MAXK, &nk, &sum, &err);
        }
        if (st) {
            rc = iob_cli_fail(&cli, &err);
            if (!strncmp(err.msg, "sticky", 6))
                break;
            continue;
        }
        iob_layer_counts lc;
        iob_layer_counts_get(L, &lc, NULL);
        iob_algo balgo = algo.kind == IOB_CLI_ALGO_MODEL ? algo.algo : IOB_ALGO_DIRECT;
        double bound = bound_bytes(L, balgo, &m);
        iob_traffic tr;
        memset(&tr, 0, sizeof tr);
        int have_pred = t.kind == IOB_TARGET_CONFIG &&
                        iob_dataflow_predict(L, &t.cfg, &m, &tr, NULL) == IOB_OK;
        double in_bytes = 4.0 * (double)(lc.input_used_elems + lc.weight_elems);
        double out_bytes = 4.0 * (double)lc.output_elems;
        const char *which;
        double floor_ns = iob_cli_floor_s(L, &m, &which) * 1e9;
        double P = have_pred ? 1 : NAN;
        /* predicted SM-side reads: what the SMs fetch, where the algorithm has a fetch model
         * (a sector copied into two shared-memory units counts twice, docs/counters.md) */
        uint64_t split;
        if (have_pred && iob_dataflow_split_sectors(L, &t.cfg, &m, &split, NULL) == IOB_OK)
            tr.l2_read_bytes = (tr.l2_read_sectors + split) * (uint64_t)m.sector_bytes;
        level_row rows[] = {
            {"SM<-L2 read bytes (SM side, xbar)", NAN, P * tr.l2_read_bytes,
             sum.sm_read_sectors * 32, 0},
            {"L2-slice read bytes (lts)", NAN, NAN, sum.l2_read_sectors * 32, 0},
            {"SM->L2 write bytes", out_bytes, P * tr.l2_write_bytes, sum.l2_write_sectors * 32, 0},
            {"SM<->L2 total bytes", bound, P * (tr.l2_read_bytes + tr.l2_write_bytes),
             (sum.sm_read_sectors + sum.l2_write_sectors) * 32, 0},
            {"DRAM read bytes", in_bytes, P * tr.dram_read_bytes, sum.dram_read_bytes, 0},
            {"DRAM write bytes", out_bytes, P * tr.dram_write_bytes, sum.dram_write_bytes, 0},
            {"shared bytes", NAN, P * (tr.smem_read_bytes + tr.smem_write_bytes), sum.smem_bytes,
             0},
            {"FFMA", NAN, P * tr.ffma, sum.ffma, 1},
            {"time ns", floor_ns > 0 ? floor_ns : NAN, P * tr.time_s * 1e9, sum.duration_ns, 1},
        };
        int nrows = (int)(sizeof rows / sizeof rows[0]);
        if (cli.format == IOB_FMT_TABLE) {
            fprintf(cli.out, "\nlayer %s (n%lld c%lld %lldx%lld k%lld %lldx%lld /%lld): %s, %d "
                    "kernel%s, via %s; bound: %s's SM<->L2 bound for all SMs; %llu MACs\n",
                    L->name[0] ? L->name : "-", (long long)L->n, (long long)L->c,
                    (long long)L->h, (long long)L->w, (long long)L->k, (long long)L->r,
                    (long long)L->s, (long long)L->stride_h, label, nk, nk == 1 ? "" : "s",
                    via == IOB_VIA_NCU ? "ncu" : "CUPTI", iob_algo_name(balgo),
                    (unsigned long long)lc.macs);
            iob_table tb;
            iob_table_init(&tb, 6);
            for (int c = 1; c < 6; c++)
                tb.right[c] = 1;
            iob_table_rowf(&tb, "level\tlower bound\tpredicted\tmeasured\tmeas/pred-1\t"
                           "meas/bound");
            for (int i = 0; i < nrows; i++) {
                char b[32], p[32], me[32], r1[32], r2[32];
                fmt_val(rows[i].bound, rows[i].is_count, b, sizeof b);
                fmt_val(rows[i].predicted, rows[i].is_count, p, sizeof p);
                fmt_val(rows[i].measured, rows[i].is_count, me, sizeof me);
                fmt_ratio(rows[i].measured, rows[i].predicted, 1, r1, sizeof r1);
                fmt_ratio(rows[i].measured, rows[i].bound, 0, r2, sizeof r2);
                iob_table_rowf(&tb, "%s\t%s\t%s\t%s\t%s\t%s", rows[i].name, b, p, me, r1, r2);
            }
            iob_table_print(&tb, cli.out, IOB_FMT_TABLE);
            iob_table_free(&tb);
            iob_table tk;
            iob_table_init(&tk, 9);
            for (int c = 1; c < 9; c++)
                tk.right[c] = 1;
            iob_table_rowf(&tk, "kernel\tSM read\tL2-slice read\tL2 write\tDRAM read\t"
                           "DRAM write\tshared\tFFMA\ttime us");
            for (int i = 0; i <= nk && i <= MAXK; i++) {
                const iob_counters *c = i < nk && i < MAXK ? &per[i] : &sum;
                if (i == nk && nk == 1)
                    break;
                char a0[32], a1[32], a2[32], a3[32], a4[32], a5[32], a6[32];
                iob_table_rowf(&tk, "%.60s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f",
                               c == &sum ? "(sum)" : c->kernel,
                               iob_cli_bytes_or_dash(c->sm_read_sectors * 32, a0, sizeof a0),
                               iob_cli_bytes_or_dash(c->l2_read_sectors * 32, a1, sizeof a1),
                               iob_cli_bytes_or_dash(c->l2_write_sectors * 32, a2, sizeof a2),
                               iob_cli_bytes_or_dash(c->dram_read_bytes, a3, sizeof a3),
                               iob_cli_bytes_or_dash(c->dram_write_bytes, a4, sizeof a4),
                               iob_cli_bytes_or_dash(c->smem_bytes, a5, sizeof a5),
                               isnan(c->ffma) ? "-" : iob_fmt_count(c->ffma, a6, sizeof a6),
                               c->duration_ns / 1e3);
                if (c == &sum)
                    break;
            }
            fputc('\n', cli.out);
            iob_table_print(&tk, cli.out, IOB_FMT_TABLE);
            iob_table_free(&tk);
        } else if (cli.format == IOB_FMT_CSV) {
            for (int i = 0; i < nk && i < MAXK; i++)
                csv_row(&csv, L, label, &per[i], -1, "", &tr, 0, &lc);
            iob_counters s2 = sum;
            snprintf(s2.kernel, sizeof s2.kernel, "(sum)");
            csv_row(&csv, L, label, &s2, bound, iob_algo_name(balgo), &tr, have_pred, &lc);
        } else {
            cJSON *o = iob_cli_layer_json(L);
            cJSON_AddStringToObject(o, "target", label);
            cJSON_AddStringToObject(o, "via", via == IOB_VIA_NCU ? "ncu" : "cupti");
            cJSON_AddNumberToObject(o, "macs", (double)lc.macs);
            cJSON_AddStringToObject(o, "bound_algo", iob_algo_name(balgo));
            cJSON *jl = cJSON_AddArrayToObject(o, "levels");
            for (int i = 0; i < nrows; i++) {
                cJSON *r = cJSON_CreateObject();
                cJSON_AddStringToObject(r, "level", rows[i].name);
#define NUM(k, v) (isnan(v) ? cJSON_AddNullToObject(r, k) : cJSON_AddNumberToObject(r, k, v))
                NUM("bound", rows[i].bound);
                NUM("predicted", rows[i].predicted);
                NUM("measured", rows[i].measured);
#undef NUM
                cJSON_AddItemToArray(jl, r);
            }
            cJSON *jk = cJSON_AddArrayToObject(o, "kernels");
            for (int i = 0; i < nk && i < MAXK; i++)
                cJSON_AddItemToArray(jk, counters_json(&per[i]));
            cJSON_AddItemToObject(o, "sum", counters_json(&sum));
            cJSON_AddItemToArray(root, o);
        }
    }
    if (cli.format == IOB_FMT_JSON) {
        int r2 = iob_cli_write_json(&cli, root);
        rc = rc ? rc : r2;
    } else if (cli.format == IOB_FMT_CSV) {
        iob_table_print(&csv, cli.out, IOB_FMT_CSV);
        iob_table_free(&csv);
    }
    cJSON_Delete(root);
    iob_cli_free(&cli);
    return rc;
}
