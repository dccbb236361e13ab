/* cmd_dataflow.c - `iobound dataflow`: configs of a dataflow for each layer with their resources,
 * predicted traffic per memory level, predicted time, and the ratio of the predicted SM<->L2
 * traffic to the lower bound. Without --config: the best N of the whole space. */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/dataflow.h"
#include "iobound/plan.h"

static const char help[] =
    "usage: iobound dataflow [--layer SPEC | --layers FILE | --net NAME] --algo A\n"
    "                        [--config CFG | --config best] [--top N] [--objective traffic|time]\n"
    "                        [--machine NAME] [--format F] [-o FILE]\n"
    "\n"
    "Configs of a dataflow (docs/model.md) for each layer: resources on the machine (threads,\n"
    "shared memory, registers, blocks per SM, waves), predicted traffic per memory level\n"
    "(SM<->L2 sectors, L2<->DRAM, shared memory<->registers), FFMAs, predicted time, and\n"
    "'vs bound': predicted SM<->L2 bytes (read + write) over the lower bound bound_bytes_gpu.\n"
    "\n"
    "  --algo A           the dataflow: direct, winograd, im2col, im2win or winograd-nonfused\n"
    "  --config CFG       one config: \"tile_k=64,tile_p=8,...\" (algo= optional), its JSON object\n"
    "                     as this command's JSON output writes it, or 'best' (the optimum of\n"
    "                     --objective); without --config, the best --top configs of the space\n"
    "  --top N            how many configs to list without --config (default 10)\n"
    "  --objective O      traffic (predicted SM<->L2 bytes, default) or time (predicted time)\n"
    "%s%s";

typedef struct ranked {
    iob_config cfg;
    iob_resources res;
    iob_traffic t;
    double key;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    /* ties (same traffic): the faster first */
    return (x->t.time_s > y->t.time_s) - (x->t.time_s < y->t.time_s);
}

static double objective(const iob_traffic *t, iob_objective obj)
{
    return obj == IOB_OBJ_TIME ? t->time_s : (double)(t->l2_read_bytes + t->l2_write_bytes);
}

static cJSON *config_json(const iob_config *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "algo", iob_algo_name(c->algo));
    for (int i = 0; i < iob_config_field_count(); i++) {
        const iob_config_field *f = iob_config_field_at(i);
        cJSON_AddNumberToObject(o, f->key, *(const int *)((const char *)c + f->offset));
    }
    return o;
}

static cJSON *launch_json(const iob_launch *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!iob_launch_is_kernel(l)) {
        const iob_gemm_call *c = &l->gemm;
        cJSON_AddStringToObject(o, "cublas", "cublasSgemmStridedBatched");
        const struct { const char *k; int64_t v; } f[] = {
            {"m", c->m}, {"n", c->n}, {"k", c->k}, {"lda", c->lda}, {"ldb", c->ldb},
            {"ldc", c->ldc}, {"stride_a", c->stride_a}, {"stride_b", c->stride_b},
            {"stride_c", c->stride_c}, {"batch", c->batch}};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            cJSON_AddNumberToObject(o, f[i].k, (double)f[i].v);
        return o;
    }
    cJSON_AddStringToObject(o, "file", l->file);
    cJSON_AddStringToObject(o, "entry", l->entry);
    cJSON *g = cJSON_AddArrayToObject(o, "grid"), *b = cJSON_AddArrayToObject(o, "block");
    for (int i = 0; i < 3; i++) {
        cJSON_AddItemToArray(g, cJSON_CreateNumber(l->grid[i]));
        cJSON_AddItemToArray(b, cJSON_CreateNumber(l->block[i]));
    }
    cJSON_AddNumberToObject(o, "smem_bytes", (double)l->smem_bytes);
    cJSON_AddStringToObject(o, "defines", l->defines);
    return o;
}

/* The GPU launches of a config (null where the algorithm has no kernel yet). */
static cJSON *plan_json(const iob_layer *L, const iob_config *c, const iob_machine *m)
{
    iob_plan plan;
    if (iob_plan_build(L, c, m, &plan, NULL))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON *pre = cJSON_AddArrayToObject(o, "prep"), *run = cJSON_AddArrayToObject(o, "launch");
    for (int i = 0; i < plan.nprep; i++)
        cJSON_AddItemToArray(pre, launch_json(&plan.prep[i]));
    for (int i = 0; i < plan.nlaunch; i++)
        cJSON_AddItemToArray(run, launch_json(&plan.launch[i]));
    cJSON *w = cJSON_AddArrayToObject(o, "work_bytes");
    for (int i = 0; i < IOB_PLAN_WORK; i++)
        cJSON_AddItemToArray(w, cJSON_CreateNumber((double)plan.work_bytes[i]));
    return o;
}

/* What the SMs fetch for one config (docs/model.md, "What the SMs fetch"): the closed form's read
 * sectors plus the sectors a copy splits over two 32-byte units of shared memory, which the H100
 * fetches twice. Only for a config given with --config (up to 164 ms a config); ok = 0 where the
 * algorithm has no fetch model (Winograd). */
typedef struct fetched {
    int ok;
    double split_bytes, read_bytes, total_bytes;
    double ratio; /* total over bound_bytes_gpu (0 without a bound) */
} fetched;

static fetched fetch_of(const iob_layer *L, const iob_machine *m, const ranked *r, double bound)
{
    fetched f = {0, 0, 0, 0, 0};
    uint64_t split;
    if (iob_dataflow_split_sectors(L, &r->cfg, m, &split, NULL) == IOB_OK) {
        f.ok = 1;
        f.split_bytes = (double)split * m->sector_bytes;
        f.read_bytes = (double)r->t.l2_read_bytes + f.split_bytes;
        f.total_bytes = f.read_bytes + (double)r->t.l2_write_bytes;
        f.ratio = bound > 0 ? f.total_bytes / bound : 0;
    }
    return f;
}

static cJSON *entry_json(const iob_layer *L, const iob_machine *m, const ranked *r, double bound,
                         const fetched *f)
{
    cJSON *o = cJSON_CreateObject();
    char text[256];
    iob_config_format(&r->cfg, text, sizeof text);
    cJSON_AddItemToObject(o, "config", config_json(&r->cfg));
    cJSON_AddStringToObject(o, "config_text", text);
    cJSON *res = cJSON_AddObjectToObject(o, "resources");
    cJSON_AddNumberToObject(res, "threads", r->res.threads);
    cJSON_AddNumberToObject(res, "smem_bytes", (double)r->res.smem_bytes);
    cJSON_AddNumberToObject(res, "regs_per_thread", r->res.regs_per_thread);
    cJSON_AddNumberToObject(res, "blocks_per_sm", r->res.blocks_per_sm);
    cJSON_AddNumberToObject(res, "grid_blocks", (double)r->res.grid_blocks);
    cJSON_AddNumberToObject(res, "waves", (double)r->res.waves);
    cJSON_AddNumberToObject(res, "occupancy", r->res.occupancy);
    cJSON_AddNumberToObject(res, "workspace_bytes", (double)r->res.workspace_bytes);
    cJSON_AddNumberToObject(res, "kernels", r->res.kernels);
    const iob_traffic *t = &r->t;
    cJSON *tr = cJSON_AddObjectToObject(o, "traffic");
    cJSON_AddNumberToObject(tr, "l2_read_sectors", (double)t->l2_read_sectors);
    cJSON_AddNumberToObject(tr, "l2_write_sectors", (double)t->l2_write_sectors);
    cJSON_AddNumberToObject(tr, "l2_read_bytes", (double)t->l2_read_bytes);
    cJSON_AddNumberToObject(tr, "l2_write_bytes", (double)t->l2_write_bytes);
    cJSON_AddNumberToObject(tr, "l2_read_requested_bytes", (double)t->l2_read_requested_bytes);
    cJSON_AddNumberToObject(tr, "dram_read_bytes", t->dram_read_bytes);
    cJSON_AddNumberToObject(tr, "dram_write_bytes", t->dram_write_bytes);
    cJSON_AddBoolToObject(tr, "dram_exact", t->dram_exact);
    cJSON_AddNumberToObject(tr, "smem_read_bytes", (double)t->smem_read_bytes);
    cJSON_AddNumberToObject(tr, "smem_write_bytes", (double)t->smem_write_bytes);
    cJSON_AddNumberToObject(tr, "ffma", (double)t->ffma);
    cJSON_AddNumberToObject(tr, "flops", t->flops);
    cJSON *tm = cJSON_AddObjectToObject(o, "time");
    cJSON_AddNumberToObject(tm, "time_s", t->time_s);
    cJSON_AddNumberToObject(tm, "flop_s", t->time_flop_s);
    cJSON_AddNumberToObject(tm, "l2_s", t->time_l2_s);
    cJSON_AddNumberToObject(tm, "dram_s", t->time_dram_s);
    cJSON_AddNumberToObject(tm, "smem_s", t->time_smem_s);
    cJSON_AddStringToObject(tm, "limiter", t->time_limiter ? t->time_limiter : "");
    cJSON_AddNumberToObject(o, "bound_bytes_gpu", bound);
    cJSON_AddNumberToObject(o, "ratio_to_bound",
                            bound > 0 ? (double)(t->l2_read_bytes + t->l2_write_bytes) / bound : 0);
    if (f && f->ok) {
        cJSON *fo = cJSON_AddObjectToObject(o, "fetched");
        cJSON_AddNumberToObject(fo, "l2_read_bytes", f->read_bytes);
        cJSON_AddNumberToObject(fo, "split_bytes", f->split_bytes);
        cJSON_AddNumberToObject(fo, "ratio_to_bound", f->ratio);
    } else if (f) {
        cJSON_AddNullToObject(o, "fetched");
    }
    cJSON_AddItemToObject(o, "plan", plan_json(L, &r->cfg, m));
    return o;
}

static const char *const csv_cols[] = {
    "layer", "algo", "rank", "config", "threads", "smem_bytes", "regs_per_thread",
    "blocks_per_sm", "grid_blocks", "waves", "workspace_bytes", "l2_read_sectors",
    "l2_write_sectors", "l2_read_bytes", "l2_write_bytes", "dram_read_bytes", "dram_write_bytes",
    "dram_exact", "smem_read_bytes", "smem_write_bytes", "ffma", "time_s", "limiter",
    "bound_bytes_gpu", "ratio_to_bound", "fetched_l2_read_bytes", "fetched_ratio_to_bound"};
#define NCSV (int)(sizeof csv_cols / sizeof csv_cols[0])

/* One layer's configs: the given one, the best, or the top N of the space. *out malloc'ed. */
static iob_status layer_configs(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                const iob_config *given, int best, iob_objective obj, int top,
                                ranked **out, size_t *count, iob_error *err)
{
    *out = NULL;
    *count = 0;
    iob_status st;
    if (given || best) {
        ranked *r = calloc(1, sizeof *r);
        if (!r)
            return iob_error_set(err, IOB_ENOMEM, "out of memory");
        if (given)
            r->cfg = *given;
        else if ((st = iob_dataflow_best(L, algo, m, obj, &r->cfg, NULL, err))) {
            free(r);
            return st;
        }
        if ((st = iob_dataflow_check(L, &r->cfg, m, &r->res, err)) ||
            (st = iob_dataflow_predict(L, &r->cfg, m, &r->t, err))) {
            free(r);
            return st;
        }
        *out = r;
        *count = 1;
        return IOB_OK;
    }
    iob_config *all;
    size_t n;
    if ((st = iob_dataflow_enumerate(L, algo, m, &all, &n, err)))
        return st;
    ranked *r = n ? malloc(n * sizeof *r) : NULL;
    if (n && !r) {
        free(all);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        r[k].cfg = all[i];
        if (iob_dataflow_check(L, &all[i], m, &r[k].res, NULL) ||
            iob_dataflow_predict(L, &all[i], m, &r[k].t, NULL))
            continue;
        r[k].key = objective(&r[k].t, obj);
        k++;
    }
    free(all);
    if (!k) {
        free(r);
        char why[sizeof err->msg + 2] = ""; /* the reason iob_dataflow_enumerate left, if any */
        if (err->msg[0])
            snprintf(why, sizeof why, ": %s", err->msg);
        return iob_error_set(err, IOB_EINFEASIBLE, "no feasible %s config for layer %s on %s%s",
                             iob_algo_name(algo), L->name[0] ? L->name : "(unnamed)", m->name, why);
    }
    qsort(r, k, sizeof *r, cmp_ranked);
    *out = r;
    *count = k < (size_t)top ? k : (size_t)top;
    return IOB_OK;
}

/* --config text: JSON object, or k=v pairs (algo= added from --algo when missing). */
static int parse_config_arg(const char *prog, const char *arg, iob_algo algo, iob_config *cfg)
{
    iob_error err;
    iob_status st;
    const char *p = arg;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '{') {
        st = iob_config_parse_json(p, cfg, &err);
    } else if (strstr(arg, "algo=")) {
        st = iob_config_parse(arg, cfg, &err);
    } else {
        size_t n = strlen(arg) + 32;
        char *text = malloc(n);
        if (!text)
            return iob_cli_usage_error(prog, "out of memory");
        snprintf(text, n, "algo=%s,%s", iob_algo_name(algo), arg);
        st = iob_config_parse(text, cfg, &err);
        free(text);
    }
    if (st)
        return iob_cli_usage_error(prog, "--config: %s", err.msg);
    if (cfg->algo != algo)
        return iob_cli_usage_error(prog, "--config is a %s config but --algo is %s",
                                   iob_algo_name(cfg->algo), iob_algo_name(algo));
    return 0;
}

int iob_cmd_dataflow(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound dataflow");
    enum { OPT_ALGO = IOB_OPT_COMMON_END, OPT_CONFIG, OPT_TOP, OPT_OBJECTIVE };
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"algo", required_argument, 0, OPT_ALGO},
                                             {"config", required_argument, 0, OPT_CONFIG},
                                             {"top", required_argument, 0, OPT_TOP},
                                             {"objective", required_argument, 0, OPT_OBJECTIVE},
                                             {0, 0, 0, 0}};
    const char *algo_arg = NULL, *config_arg = NULL;
    long top = 10;
    iob_objective obj = IOB_OBJ_TRAFFIC;
    int opt, rc;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        rc = 0;
        if (opt == 'h' || opt == IOB_OPT_HELP) {
            printf(help, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        } else if (opt == OPT_ALGO) {
            algo_arg = optarg;
        } else if (opt == OPT_CONFIG) {
            config_arg = optarg;
        } else if (opt == OPT_TOP) {
            char *end;
            top = strtol(optarg, &end, 10);
            if (end == optarg || *end || top < 1 || top > 1000000)
                rc = iob_cli_usage_error(cli.prog, "--top %s: expected a whole number from 1 to "
                                         "1000000", optarg);
        } else if (opt == OPT_OBJECTIVE) {
            if (!strcmp(optarg, "traffic"))
                obj = IOB_OBJ_TRAFFIC;
            else if (!strcmp(optarg, "time"))
                obj = IOB_OBJ_TIME;
            else
                rc = iob_cli_usage_error(cli.prog, "--objective %s: expected traffic or time",
                                         optarg);
        } else if (opt == '?') {
            rc = iob_cli_usage_error(cli.prog, "unknown or incomplete option");
        } else {
            rc = iob_cli_common_option(&cli, opt, optarg);
            if (rc < 0)
                rc = iob_cli_usage_error(cli.prog, "unexpected option");
        }
        if (rc) {
            iob_cli_free(&cli);
            return rc;
        }
    }
    if (optind < argc) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "unexpected argument '%s'", argv[optind]);
    }
    iob_error err;
    iob_algo algo = IOB_ALGO_DIRECT;
    if (!algo_arg) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "--algo is required");
    }
    if (iob_algo_parse(algo_arg, &algo, &err)) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "--algo: %s", err.msg);
    }
    iob_config given;
    int best = config_arg && !strcmp(config_arg, "best");
    if (config_arg && !best && (rc = parse_config_arg(cli.prog, config_arg, algo, &given))) {
        iob_cli_free(&cli);
        return rc;
    }
    if ((rc = iob_cli_finish(&cli, NULL))) {
        iob_cli_free(&cli);
        return rc;
    }
    if (!cli.layers.count) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "no layer given (--layer, --layers or --net)");
    }
    iob_bound_opts bopts = iob_bound_opts_for(&cli.machine, 4);
    /* with a named config: what the SMs fetch for it, per layer, printed under the table */
    fetched *fetch_list = NULL;
    if (config_arg && !best && cli.format == IOB_FMT_TABLE) {
        fetch_list = calloc(cli.layers.count, sizeof *fetch_list);
        if (!fetch_list) {
            iob_error_set(&err, IOB_ENOMEM, "out of memory");
            rc = iob_cli_fail(&cli, &err);
            iob_cli_free(&cli);
            return rc;
        }
    }

    cJSON *root = NULL, *jlayers = NULL;
    iob_table table;
    if (cli.format == IOB_FMT_JSON) {
        root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "machine", iob_cli_machine_json(&cli.machine));
        cJSON_AddStringToObject(root, "algo", iob_algo_name(algo));
        cJSON_AddStringToObject(root, "objective", obj == IOB_OBJ_TIME ? "time" : "traffic");
        jlayers = cJSON_AddArrayToObject(root, "layers");
    } else if (cli.format == IOB_FMT_CSV) {
        iob_table_init(&table, NCSV);
        iob_table_row(&table, csv_cols);
    } else {
        iob_table_init(&table, 14);
        for (int c = 3; c < 14; c++)
            table.right[c] = c != 12;
        iob_table_rowf(&table, "layer\t#\tconfig\tthreads\tsmem\tregs\tblk/SM\twaves\t"
                       "L2 read\tL2 write\tDRAM\ttime\tlimiter\tvs bound");
    }
    for (size_t li = 0; li < cli.layers.count; li++) {
        const iob_layer *L = &cli.layers.items[li];
        const char *lname = L->name[0] ? L->name : "-";
        iob_bound b[8];
        int nb = 0;
        if (iob_bound_layer(L, algo, &bopts, b, 8, &nb, &err))
            goto fail;
        double bound = nb && b[0].applicable ? b[0].bound_gpu * b[0].elem_bytes : 0;
        ranked *r;
        size_t n;
        if (layer_configs(L, algo, &cli.machine, config_arg && !best ? &given : NULL, best, obj,
                          (int)top, &r, &n, &err)) {
            iob_error_prefix(&err, "layer %s", lname);
            goto fail;
        }
        cJSON *jl = NULL, *jc = NULL;
        if (root) {
            jl = iob_cli_layer_json(L);
            cJSON_AddNumberToObject(jl, "bound_bytes_gpu", bound);
            jc = cJSON_AddArrayToObject(jl, "configs");
            cJSON_AddItemToArray(jlayers, jl);
        }
        for (size_t i = 0; i < n; i++) {
            const iob_traffic *t = &r[i].t;
            double l2 = (double)(t->l2_read_bytes + t->l2_write_bytes);
            char text[256];
            iob_config_format(&r[i].cfg, text, sizeof text);
            /* a config the user named: also what the H100's SMs fetch for it */
            fetched f = {0, 0, 0, 0, 0};
            int named = config_arg && !best;
            if (named)
                f = fetch_of(L, &cli.machine, &r[i], bound);
            if (named && fetch_list)
                fetch_list[li] = f;
            if (root) {
                cJSON_AddItemToArray(jc, entry_json(L, &cli.machine, &r[i], bound,
                                                    named ? &f : NULL));
            } else if (cli.format == IOB_FMT_CSV) {
                char cells[NCSV][64];
                const char *row[NCSV];
                double v[] = {(double)r[i].res.threads, (double)r[i].res.smem_bytes,
                              r[i].res.regs_per_thread, r[i].res.blocks_per_sm,
                              (double)r[i].res.grid_blocks, (double)r[i].res.waves,
                              (double)r[i].res.workspace_bytes, (double)t->l2_read_sectors,
                              (double)t->l2_write_sectors, (double)t->l2_read_bytes,
                              (double)t->l2_write_bytes, t->dram_read_bytes, t->dram_write_bytes,
                              t->dram_exact, (double)t->smem_read_bytes,
                              (double)t->smem_write_bytes, (double)t->ffma};
                row[0] = L->name;
                row[1] = iob_algo_name(algo);
                snprintf(cells[2], 64, "%zu", i + 1);
                row[2] = cells[2];
                row[3] = text;
                for (int c = 0; c < 17; c++) {
                    snprintf(cells[4 + c], 64, "%.0f", v[c]);
                    row[4 + c] = cells[4 + c];
                }
                snprintf(cells[21], 64, "%.6g", t->time_s);
                row[21] = cells[21];
                row[22] = t->time_limiter;
                snprintf(cells[23], 64, "%.0f", bound);
                row[23] = cells[23];
                snprintf(cells[24], 64, "%.4f", bound > 0 ? l2 / bound : 0);
                row[24] = cells[24];
                cells[25][0] = cells[26][0] = '\0';
                if (f.ok) {
                    snprintf(cells[25], 64, "%.0f", f.read_bytes);
                    snprintf(cells[26], 64, "%.4f", f.ratio);
                }
                row[25] = cells[25];
                row[26] = cells[26];
                iob_table_row(&table, row);
            } else {
                char f1[32], f2[32], f3[32], f4[32];
                iob_table_rowf(&table, "%s\t%zu\t%s\t%d\t%s\t%d\t%d\t%lld\t%s\t%s\t%s%s\t%.1f us\t"
                               "%s\t%.2f",
                               i == 0 ? lname : "", i + 1, text + strlen("algo=") +
                                   strlen(iob_algo_name(algo)) + 1,
                               r[i].res.threads,
                               iob_fmt_bytes((double)r[i].res.smem_bytes, f1, sizeof f1),
                               r[i].res.regs_per_thread, r[i].res.blocks_per_sm,
                               (long long)r[i].res.waves,
                               iob_fmt_bytes((double)t->l2_read_bytes, f2, sizeof f2),
                               iob_fmt_bytes((double)t->l2_write_bytes, f3, sizeof f3),
                               t->dram_exact ? "" : "~",
                               iob_fmt_bytes(t->dram_read_bytes + t->dram_write_bytes, f4,
                                             sizeof f4),
                               t->time_s * 1e6, t->time_limiter, bound > 0 ? l2 / bound : 0);
            }
        }
        free(r);
    }
    if (root) {
        rc = iob_cli_write_json(&cli, root);
        cJSON_Delete(root);
    } else {
        if (cli.format == IOB_FMT_TABLE)
            fprintf(cli.out, "machine %s; objective %s; 'vs bound' = predicted SM<->L2 bytes / "
                    "bound_bytes_gpu; DRAM with ~ is an estimate\n", cli.machine.name,
                    obj == IOB_OBJ_TIME ? "time" : "traffic");
        iob_table_print(&table, cli.out, cli.format);
        iob_table_free(&table);
        for (size_t li = 0; fetch_list && li < cli.layers.count; li++) {
            const fetched *f = &fetch_list[li];
            const char *ln = cli.layers.items[li].name[0] ? cli.layers.items[li].name : "-";
            char f1[32], f2[32], f3[32];
            if (f->ok)
                fprintf(cli.out, "%s: the SMs fetch %s of reads, %s more than the closed form "
                        "(sectors split over two shared-memory units; docs/model.md); SM<->L2 "
                        "%s = %.2fx bound\n", ln, iob_fmt_bytes(f->read_bytes, f1, sizeof f1),
                        iob_fmt_bytes(f->split_bytes, f2, sizeof f2),
                        iob_fmt_bytes(f->total_bytes, f3, sizeof f3),
                        f->ratio);
        }
        rc = 0;
    }
    free(fetch_list);
    iob_cli_free(&cli);
    return rc;

fail:
    free(fetch_list);
    if (root)
        cJSON_Delete(root);
    else
        iob_table_free(&table);
    rc = iob_cli_fail(&cli, &err);
    iob_cli_free(&cli);
    return rc;
}
