/* cmd_compare.c - `iobound compare --ncu FILE.csv --layer SPEC`: any kernel's measured traffic
 * (an Nsight Compute raw CSV recorded by the user, of PyTorch or a hand-written kernel) against
 * the layer's lower bound and the best dataflow's prediction. Needs no GPU. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_cli.h"

static const char help[] =
    "usage: iobound compare --ncu FILE.csv --layer SPEC [--machine NAME] [--format F] [-o FILE]\n"
    "\n"
    "Reads an Nsight Compute CSV recorded with\n"
    "  ncu --metrics dram__bytes_read.sum,dram__bytes_write.sum,\n"
    "      lts__t_sectors_srcunit_tex_op_read.sum,lts__t_sectors_srcunit_tex_op_write.sum,\n"
    "      l1tex__t_bytes_pipe_lsu_mem_global_op_ld.sum,sm__sass_data_bytes_mem_shared.sum,\n"
    "      sm__sass_thread_inst_executed_op_ffma_pred_on.sum,gpu__time_duration.sum,\n"
    "      l1tex__m_xbar2l1tex_read_sectors.sum\n"
    "      --cache-control all --csv --page raw --log-file FILE.csv <your program>\n"
    "(any subset of the metrics; --page details works too) and puts each kernel's SM<->L2 and\n"
    "DRAM traffic beside the lower bound of the layer for the machine's SMs (direct convolution,\n"
    "all SMs, FP32 bytes) and the traffic the best dataflow of the model predicts. Works\n"
    "without a GPU.\n"
    "\n"
    "SM read = l1tex__m_xbar2l1tex_read_sectors x 32 (what the SMs received from L2, what the\n"
    "model counts); L2-slice read = lts__t_sectors_srcunit_tex_op_read x 32 (the L2 slices\n"
    "count fewer: requests of several SMs to one sector are merged). SM<->L2 = SM read + L2\n"
    "write, the L2-slice read standing in for a kernel recorded without the xbar metric.\n"
    "Metrics a file lacks are shown as - (empty in CSV, null in JSON).\n"
    "\n"
    "  --ncu FILE     the CSV (ncu --csv --page raw)\n"
    "  --layer SPEC   the layer the kernels compute (exactly one)\n"
    "%s";

enum { OPT_NCU = IOB_OPT_COMMON_END };

#define MAXK 4096

typedef struct best_flow {
    int found;
    iob_config cfg;
    iob_traffic tr;
} best_flow;

static best_flow best_dataflow(const iob_layer *L, const iob_machine *m)
{
    best_flow b;
    memset(&b, 0, sizeof b);
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        iob_config cfg;
        iob_traffic tr;
        if (iob_dataflow_best(L, (iob_algo)a, m, IOB_OBJ_TRAFFIC, &cfg, &tr, NULL))
            continue;
        if (!b.found || tr.l2_read_bytes + tr.l2_write_bytes <
                            b.tr.l2_read_bytes + b.tr.l2_write_bytes) {
            b.found = 1;
            b.cfg = cfg;
            b.tr = tr;
        }
    }
    return b;
}

static double direct_bound(const iob_layer *L, const iob_machine *m, double *lowest)
{
    iob_bound_opts bo = iob_bound_opts_for(m, 4);
    iob_bound b[16];
    int n = 0;
    double direct = NAN;
    *lowest = NAN;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        if (iob_bound_layer(L, (iob_algo)a, &bo, b, 16, &n, NULL))
            continue;
        for (int i = 0; i < n; i++) {
            if (!b[i].applicable)
                continue;
            double v = b[i].bound_gpu * 4;
            if (a == IOB_ALGO_DIRECT)
                direct = v;
            if (isnan(*lowest) || v < *lowest)
                *lowest = v;
        }
    }
    return direct;
}

static double nz(double v) { return isnan(v) ? 0 : v; }

/* The sum of a field over the kernels that have it; NAN when none has it (a metric the file was
 * recorded without), never 0. */
static double sum_present(const iob_counters *k, int n, size_t offset)
{
    double s = 0;
    int any = 0;
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&k[i] + offset);
        if (!isnan(v)) {
            s += v;
            any = 1;
        }
    }
    return any ? s : NAN;
}

/* Read sectors of a kernel on the SM side, the L2 slices' count standing in where the file
 * lacks the xbar metric (NAN when it has neither). */
static double read_sectors(const iob_counters *c)
{
    return isnan(c->sm_read_sectors) ? c->l2_read_sectors : c->sm_read_sectors;
}

/* "%.0f", or "" for NAN (a CSV cell of a metric the file lacks) */
static const char *csv_num(double v, char *buf, size_t size)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, size, "%.0f", v);
    return buf;
}

/* "%.2f" (scaled) or "-" for NAN */
static void fmt_num(double v, double scale, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2f", v * scale);
}

int iob_cmd_compare(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound compare");
    const char *ncu = NULL;
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"ncu", required_argument, 0, OPT_NCU},
                                             {0, 0, 0, 0}};
    int opt, rc = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == IOB_OPT_HELP) {
            printf(help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        }
        if (opt == OPT_NCU)
            ncu = optarg;
        else
            rc = iob_cli_gpu_option(&cli, opt, optarg);
        if (rc) {
            iob_cli_free(&cli);
            return rc;
        }
    }
    if (optind < argc)
        rc = iob_cli_usage_error(cli.prog, "unexpected argument '%s'", argv[optind]);
    else if (!ncu)
        rc = iob_cli_usage_error(cli.prog, "--ncu FILE is required");
    else if (cli.net || !cli.have_layers)
        rc = iob_cli_usage_error(cli.prog, "give the layer with --layer SPEC");
    else if (!(rc = iob_cli_finish(&cli, NULL)) && cli.layers.count != 1)
        rc = iob_cli_usage_error(cli.prog, "give exactly one layer (%zu given)",
                                 cli.layers.count);
    if (rc) {
        iob_cli_free(&cli);
        return rc;
    }
    iob_counters *k = malloc(MAXK * sizeof *k);
    int n = 0;
    iob_error err;
    if (!k) {
        fprintf(stderr, "%s: out of memory\n", cli.prog);
        iob_cli_free(&cli);
        return IOB_EXIT_RUNTIME;
    }
    if (iob_ncu_parse_file(ncu, k, MAXK, &n, &err)) {
        rc = iob_cli_fail(&cli, &err);
        free(k);
        iob_cli_free(&cli);
        return rc;
    }
    if (n > MAXK) {
        fprintf(stderr, "%s: warning: %s holds %d kernels; the first %d are shown\n", cli.prog,
                ncu, n, MAXK);
        n = MAXK;
    }
    const iob_layer *L = &cli.layers.items[0];
    const iob_machine *m = &cli.machine;
    iob_layer_counts lc;
    iob_layer_counts_get(L, &lc, NULL);
    double lowest, bound = direct_bound(L, m, &lowest);
    best_flow bf = best_dataflow(L, m);
    double pred = bf.found ? (double)(bf.tr.l2_read_bytes + bf.tr.l2_write_bytes) : NAN;
    char cfgtext[512] = "";
    if (bf.found)
        iob_config_format(&bf.cfg, cfgtext, sizeof cfgtext);

    iob_counters sum;
    memset(&sum, 0, sizeof sum);
    snprintf(sum.kernel, sizeof sum.kernel, "(sum of %d kernels)", n);
#define SUM(field) sum.field = sum_present(k, n, offsetof(iob_counters, field))
    SUM(l2_read_sectors);
    SUM(l2_write_sectors);
    SUM(sm_read_sectors);
    SUM(dram_read_bytes);
    SUM(dram_write_bytes);
    SUM(l1_global_load_bytes);
    SUM(smem_bytes);
    SUM(ffma);
    SUM(duration_ns);
#undef SUM
    /* SM<->L2 of the sum: the kernels' reads (SM side, or the L2 slices' count of a kernel
     * recorded without the xbar metric) + writes, over the kernels that have them */
    double sum_rd = 0;
    int any_rd = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(read_sectors(&k[i]))) {
            sum_rd += read_sectors(&k[i]);
            any_rd = 1;
        }
    double sum_sm_l2 = !any_rd && isnan(sum.l2_write_sectors)
                           ? NAN
                           : (sum_rd + nz(sum.l2_write_sectors)) * 32;
    iob_table t;
    cJSON *root = NULL;
    if (cli.format == IOB_FMT_JSON) {
        root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "machine", iob_cli_machine_json(m));
        cJSON *jl = iob_cli_layer_json(L);
        cJSON_AddNumberToObject(jl, "macs", (double)lc.macs);
        cJSON_AddNumberToObject(jl, "compulsory_bytes", 4.0 * (double)lc.compulsory_elems);
        cJSON_AddItemToObject(root, "layer", jl);
        cJSON_AddNumberToObject(root, "bound_l2_bytes_direct", nz(bound));
        cJSON_AddNumberToObject(root, "bound_l2_bytes_lowest", nz(lowest));
        if (bf.found) {
            cJSON_AddStringToObject(root, "best_dataflow", cfgtext);
            cJSON_AddNumberToObject(root, "best_dataflow_l2_bytes", pred);
        } else {
            cJSON_AddNullToObject(root, "best_dataflow");
            cJSON_AddNullToObject(root, "best_dataflow_l2_bytes");
        }
    } else {
        iob_table_init(&t, 12);
        for (int c = 1; c < 12; c++)
            t.right[c] = 1;
        iob_table_rowf(&t, "kernel\tSM read\tL2-slice read\tL2 write\tSM<->L2\tx bound\t"
                       "x best flow\tDRAM read\tDRAM write\tshared\tFFMA\ttime us");
        if (cli.format == IOB_FMT_CSV) {
            iob_table_free(&t);
            iob_table_init(&t, 15);
            iob_table_rowf(&t, "layer\tkernel\tl2_read_bytes\tsm_read_bytes\tl2_write_bytes\t"
                           "dram_read_bytes\tdram_write_bytes\tsmem_bytes\tffma\tduration_ns\t"
                           "bound_l2_bytes\tbest_flow_l2_bytes\tbest_flow_config\tx_bound\t"
                           "x_best_flow");
        }
    }
    cJSON *jk = root ? cJSON_AddArrayToObject(root, "kernels") : NULL;
    for (int i = 0; i <= n; i++) {
        const iob_counters *c = i < n ? &k[i] : &sum;
        double l2 = i < n ? (read_sectors(c) + c->l2_write_sectors) * 32 : sum_sm_l2;
        if (root) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "kernel", c->kernel);
#define NUM(key, v) (isnan(v) ? cJSON_AddNullToObject(o, key) : cJSON_AddNumberToObject(o, key, v))
            NUM("l2_read_bytes", c->l2_read_sectors * 32);
            NUM("sm_read_bytes", c->sm_read_sectors * 32);
            NUM("l2_write_bytes", c->l2_write_sectors * 32);
            NUM("sm_l2_bytes", l2);
            NUM("dram_read_bytes", c->dram_read_bytes);
            NUM("dram_write_bytes", c->dram_write_bytes);
            NUM("smem_bytes", c->smem_bytes);
            NUM("ffma", c->ffma);
            NUM("duration_ns", c->duration_ns);
            NUM("x_bound", l2 / bound);
            NUM("x_best_flow", l2 / pred);
#undef NUM
            if (i < n)
                cJSON_AddItemToArray(jk, o);
            else
                cJSON_AddItemToObject(root, "sum", o);
        } else if (cli.format == IOB_FMT_CSV) {
            char v[10][40], x1[40], x2[40];
            double vals[10] = {c->l2_read_sectors * 32, c->sm_read_sectors * 32,
                               c->l2_write_sectors * 32, c->dram_read_bytes, c->dram_write_bytes,
                               c->smem_bytes, c->ffma, c->duration_ns, bound, pred};
            for (int j = 0; j < 10; j++)
                csv_num(vals[j], v[j], sizeof v[j]);
            snprintf(x1, sizeof x1, "%.4g", l2 / bound);
            snprintf(x2, sizeof x2, "%.4g", l2 / pred);
            iob_table_rowf(&t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
                           L->name, c->kernel, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                           v[8], v[9], cfgtext, isnan(l2 / bound) ? "" : x1,
                           isnan(l2 / pred) ? "" : x2);
        } else {
            char a0[32], a1[32], a2[32], a3[32], a4[32], a5[32], a6[32], a7[32], r1[32], r2[32],
                tu[32];
            fmt_num(l2 / bound, 1, r1, sizeof r1);
            fmt_num(l2 / pred, 1, r2, sizeof r2);
            fmt_num(c->duration_ns / 1e3, 1, tu, sizeof tu);
            iob_table_rowf(&t, "%.60s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", c->kernel,
                           iob_cli_bytes_or_dash(c->sm_read_sectors * 32, a0, sizeof a0),
                           iob_cli_bytes_or_dash(c->l2_read_sectors * 32, a1, sizeof a1),
                           iob_cli_bytes_or_dash(c->l2_write_sectors * 32, a2, sizeof a2),
                           iob_cli_bytes_or_dash(l2, a3, sizeof a3), r1, r2,
                           iob_cli_bytes_or_dash(c->dram_read_bytes, a4, sizeof a4),
                           iob_cli_bytes_or_dash(c->dram_write_bytes, a5, sizeof a5),
                           iob_cli_bytes_or_dash(c->smem_bytes, a6, sizeof a6),
                           isnan(c->ffma) ? "-" : iob_fmt_count(c->ffma, a7, sizeof a7), tu);
        }
    }
    if (root) {
        rc = iob_cli_write_json(&cli, root);
        cJSON_Delete(root);
    } else {
        if (cli.format == IOB_FMT_TABLE) {
            char b1[32], b2[32], b3[32], b4[32];
            fprintf(cli.out, "layer %s: n%lld c%lld %lldx%lld k%lld %lldx%lld /%lld, %llu MACs, "
                    "compulsory %s\n", L->name[0] ? L->name : "-", (long long)L->n,
                    (long long)L->c, (long long)L->h, (long long)L->w, (long long)L->k,
                    (long long)L->r, (long long)L->s, (long long)L->stride_h,
                    (unsigned long long)lc.macs,
                    iob_fmt_bytes(4.0 * (double)lc.compulsory_elems, b1, sizeof b1));
            fprintf(cli.out, "lower bound of the SM<->L2 traffic on %s (%d SMs): direct %s, "
                    "lowest over algorithms %s\n", m->name, m->sm_count,
                    iob_cli_bytes_or_dash(bound, b2, sizeof b2),
                    iob_cli_bytes_or_dash(lowest, b3, sizeof b3));
            if (bf.found)
                fprintf(cli.out, "best dataflow of the model: %s predicts %s\n", cfgtext,
                        iob_fmt_bytes(pred, b4, sizeof b4));
            else
                fprintf(cli.out, "best dataflow of the model: none (no dataflow model in this "
                        "build applies)\n");
            fprintf(cli.out, "kernels of %s:\n", ncu);
        }
        iob_table_print(&t, cli.out, cli.format);
        iob_table_free(&t);
    }
    free(k);
    iob_cli_free(&cli);
    return rc;
}
