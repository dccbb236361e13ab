/* cmd_bound.c - `iobound bound`: per layer its shape, output size, FLOPs and compulsory traffic,
 * and per algorithm the I/O lower bound with its dominant term. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/bound.h"
#include "iobound/dataflow.h"

static const char help[] =
    "usage: iobound [bound] [--layer SPEC | --layers FILE | --net NAME] [--algo LIST]\n"
    "                       [--machine NAME] [--smem B] [--fast-mem B] [--format F] [-o FILE]\n"
    "\n"
    "I/O lower bounds (red-blue pebble game) of each convolution algorithm for each layer,\n"
    "for S = the fast memory of one SM (shared memory + registers; --fast-mem sets it). Per\n"
    "layer and algorithm: FLOPs, compulsory bytes, the bound for one SM that runs the whole\n"
    "layer ('bound(S)'), the bound on the total SM<->L2 traffic of all SMs ('bound(GPU)'),\n"
    "which term wins, the arithmetic-intensity ceiling it implies (FLOP per byte) and the\n"
    "algorithm's extra memory. Bytes are FP32. Derivations: docs/bounds.md.\n"
    "\n"
    "  --algo LIST        direct, winograd, im2col, im2win, gemm or all (default), comma-separated;\n"
    "                     winograd-nonfused shows Winograd's stored bounds without the filter\n"
    "                     transform (the non-fused kernels' run; not in the default list)\n"
    "  --dataflow         also find each modelled algorithm's least-traffic config (iobound dataflow)\n"
    "                     and print its predicted SM<->L2 bytes over bound(GPU) ('best/bound');\n"
    "                     on by default for up to 200 layers\n"
    "  --no-dataflow      bounds only\n"
    "  --schedule         also find the best explicit schedule of a tile family on the bound's own\n"
    "                     machine (direct only; about 20 ms a layer): the least traffic any\n"
    "                     schedule needs lies between bound(GPU) and it (docs/bounds.md)\n"
    "%s%s"
    "\n"
    "With no layer option the default network is resnet50 at batch 1.\n";

static cJSON *num_or_null(double v, int ok)
{
    return ok ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *bound_json(const iob_bound *b)
{
    cJSON *o = cJSON_CreateObject();
    int ok = b->applicable;
    double eb = b->elem_bytes;
    cJSON_AddStringToObject(o, "algo", iob_algo_name(b->algo));
    cJSON_AddStringToObject(o, "variant", b->variant);
    cJSON_AddBoolToObject(o, "applicable", ok);
    if (ok)
        cJSON_AddNullToObject(o, "reason");
    else
        cJSON_AddStringToObject(o, "reason", b->reason);
    cJSON_AddNumberToObject(o, "s_bytes", b->s_words * eb);
    cJSON_AddItemToObject(o, "flops", num_or_null(b->flops, ok));
    cJSON_AddItemToObject(o, "compulsory_bytes", num_or_null(b->compulsory * eb, ok));
    cJSON_AddItemToObject(o, "leading_bytes", num_or_null(b->leading * eb, ok));
    cJSON_AddItemToObject(o, "bound_bytes", num_or_null(b->bound * eb, ok));
    cJSON_AddItemToObject(o, "bound_bytes_gpu", num_or_null(b->bound_gpu * eb, ok));
    if (ok)
        cJSON_AddStringToObject(o, "dominant", b->dominant);
    else
        cJSON_AddNullToObject(o, "dominant");
    cJSON_AddItemToObject(o, "workspace_bytes", num_or_null(b->workspace * eb, ok));
    cJSON_AddItemToObject(o, "reuse_bytes", num_or_null(b->reuse * eb, ok));
    cJSON_AddItemToObject(o, "reuse_bytes_gpu", num_or_null(b->reuse_gpu * eb, ok));
    cJSON_AddItemToObject(o, "rho", num_or_null(b->rho, ok));
    cJSON_AddItemToObject(o, "intensity_flop_per_byte",
                          num_or_null(b->bound_gpu > 0 ? b->flops / (b->bound_gpu * eb) : 0, ok));
    cJSON_AddNumberToObject(o, "processors", b->processors);
    if (ok && b->nterms) {
        cJSON *terms = cJSON_AddArrayToObject(o, "terms");
        for (int i = 0; i < b->nterms; i++) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", b->terms[i].name);
            cJSON_AddNumberToObject(t, "compulsory_bytes", b->terms[i].compulsory * eb);
            cJSON_AddNumberToObject(t, "bound_bytes_gpu", b->terms[i].bound * eb);
            cJSON_AddItemToArray(terms, t);
        }
    }
    return o;
}

static const char *const csv_layer_cols[] = {
    "name", "n", "c", "h", "w", "k", "r", "s", "stride_h", "stride_w", "pad_h", "pad_w",
    "pad_top", "pad_bottom", "pad_left", "pad_right", "dil_h", "dil_w", "groups", "p", "q",
    "flops", "compulsory_bytes"};
static const char *const csv_bound_cols[] = {
    "algo", "variant", "applicable", "reason", "s_bytes", "algo_flops", "algo_compulsory_bytes",
    "leading_bytes", "bound_bytes", "bound_bytes_gpu", "dominant", "workspace_bytes",
    "intensity_flop_per_byte", "best_config", "best_predicted_bytes", "best_ratio",
    "schedule_bytes", "schedule_tile"};
#define NLAYERCOLS (int)(sizeof csv_layer_cols / sizeof csv_layer_cols[0])
#define NBOUNDCOLS (int)(sizeof csv_bound_cols / sizeof csv_bound_cols[0])

/* The schedule columns come last; the best_* three before them. */
#define SCHED_COLS 2

/* A CSV cell: the longest value is a config text (char[256]) or a reason (char[160]). */
#define CELL 272

static void csv_layer_cells(const iob_layer *L, const iob_layer_counts *c, char cells[][CELL])
{
    long long v[] = {L->n, L->c, L->h, L->w, L->k, L->r, L->s, L->stride_h, L->stride_w,
                     L->pad_top, L->pad_left, L->pad_top, L->pad_bottom, L->pad_left,
                     L->pad_right, L->dil_h, L->dil_w, L->groups, L->p, L->q};
    snprintf(cells[0], CELL, "%s", L->name);
    for (int i = 0; i < 20; i++)
        snprintf(cells[i + 1], CELL, "%lld", v[i]);
    snprintf(cells[21], CELL, "%llu", (unsigned long long)c->flops);
    snprintf(cells[22], CELL, "%llu", (unsigned long long)(c->compulsory_elems * 4));
}

static void csv_bound_cells(const iob_bound *b, char cells[][CELL])
{
    double eb = b->elem_bytes;
    for (int i = 0; i < NBOUNDCOLS; i++)
        cells[i][0] = '\0'; /* best_* and schedule_* are filled by the caller when known */
    snprintf(cells[0], CELL, "%s", iob_algo_name(b->algo));
    snprintf(cells[1], CELL, "%s", b->variant);
    snprintf(cells[2], CELL, "%d", b->applicable);
    snprintf(cells[3], CELL, "%s", b->applicable ? "" : b->reason);
    snprintf(cells[4], CELL, "%.0f", b->s_words * eb);
    if (!b->applicable)
        return;
    snprintf(cells[5], CELL, "%.0f", b->flops);
    snprintf(cells[6], CELL, "%.0f", b->compulsory * eb);
    snprintf(cells[7], CELL, "%.0f", b->leading * eb);
    snprintf(cells[8], CELL, "%.0f", b->bound * eb);
    snprintf(cells[9], CELL, "%.0f", b->bound_gpu * eb);
    snprintf(cells[10], CELL, "%s", b->dominant);
    snprintf(cells[11], CELL, "%.0f", b->workspace * eb);
    snprintf(cells[12], CELL, "%.4g", b->bound_gpu > 0 ? b->flops / (b->bound_gpu * eb) : 0);
}

/* The least-traffic config of an algorithm that has a dataflow model, for the best/bound ratio
 * (the mission's "best dataflow's ratio"). */
typedef struct best_df {
    int ok;
    iob_config cfg;
    double bytes; /* predicted SM<->L2 read + write bytes */
} best_df;

static void best_dataflow(const iob_layer *L, iob_algo algo, const iob_machine *m, best_df *out)
{
    iob_traffic t;
    out->ok = iob_dataflow_best(L, algo, m, IOB_OBJ_TRAFFIC, &out->cfg, &t, NULL) == IOB_OK;
    out->bytes = out->ok ? (double)(t.l2_read_bytes + t.l2_write_bytes) : 0;
}

/* The best explicit schedule of the direct tile family, when asked for (--schedule). */
typedef struct best_sched {
    int asked;
    iob_status st;
    iob_error err;
    iob_schedule s;
} best_sched;

static void sched_tile(const iob_schedule *s, char *buf, size_t size)
{
    snprintf(buf, size, "%lldx%lldx%lldx%lld c%lld", (long long)s->tk, (long long)s->tn,
             (long long)s->tp, (long long)s->tq, (long long)s->tc);
}

static cJSON *sched_json(const best_sched *bs, double bound_bytes)
{
    if (bs->st)
        return cJSON_CreateString(bs->err.msg);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bytes", 4 * bs->s.words);
    cJSON_AddNumberToObject(o, "ratio", bound_bytes > 0 ? 4 * bs->s.words / bound_bytes : 0);
    cJSON_AddNumberToObject(o, "input_bytes", 4 * bs->s.input);
    cJSON_AddNumberToObject(o, "filter_bytes", 4 * bs->s.filter);
    cJSON_AddNumberToObject(o, "output_bytes", 4 * bs->s.output);
    cJSON *t = cJSON_AddObjectToObject(o, "tile");
    cJSON_AddNumberToObject(t, "tk", (double)bs->s.tk);
    cJSON_AddNumberToObject(t, "tn", (double)bs->s.tn);
    cJSON_AddNumberToObject(t, "tp", (double)bs->s.tp);
    cJSON_AddNumberToObject(t, "tq", (double)bs->s.tq);
    cJSON_AddNumberToObject(t, "tc", (double)bs->s.tc);
    return o;
}

/* The best dataflow that belongs to bound b's row: direct's for direct, Winograd's for the fused
 * variant of its tile size. NULL when none. */
static const best_df *best_for(const iob_bound *b, const best_df df[2])
{
    if (b->algo == IOB_ALGO_DIRECT && df[0].ok)
        return &df[0];
    if (b->algo == IOB_ALGO_WINOGRAD && df[1].ok && strstr(b->variant, "fused")) {
        char want[16];
        snprintf(want, sizeof want, "F(%dx%d,", df[1].cfg.wino_m, df[1].cfg.wino_m);
        if (!strncmp(b->variant, want, strlen(want)))
            return &df[1];
    }
    return NULL;
}

int iob_cmd_bound(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound bound");
    iob_algo_set algos;
    for (int i = 0; i < IOB_ALGO_COUNT; i++)
        algos.on[i] = 1;
    /* its bounds are Winograd's "stored" rows, already in the table; --algo asks for them */
    algos.on[IOB_ALGO_WINOGRAD_NONFUSED] = 0;
    enum { OPT_ALGO = IOB_OPT_COMMON_END, OPT_DATAFLOW, OPT_NO_DATAFLOW, OPT_SCHEDULE };
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"algo", required_argument, 0, OPT_ALGO},
                                             {"dataflow", no_argument, 0, OPT_DATAFLOW},
                                             {"no-dataflow", no_argument, 0, OPT_NO_DATAFLOW},
                                             {"schedule", no_argument, 0, OPT_SCHEDULE},
                                             {0, 0, 0, 0}};
    int dataflow = -1; /* -1: automatic (on up to 200 layers) */
    int schedule = 0;
    int opt, rc;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == IOB_OPT_HELP) {
            printf(help, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        }
        if (opt == OPT_ALGO) {
            if ((rc = iob_cli_parse_algos(cli.prog, optarg, &algos))) {
                iob_cli_free(&cli);
                return rc;
            }
            continue;
        }
        if (opt == OPT_SCHEDULE) {
            schedule = 1;
            continue;
        }
        if (opt == OPT_DATAFLOW || opt == OPT_NO_DATAFLOW) {
            dataflow = opt == OPT_DATAFLOW;
            continue;
        }
        if (opt == '?') {
            iob_cli_free(&cli);
            return iob_cli_usage_error(cli.prog, "unknown or incomplete option");
        }
        rc = iob_cli_common_option(&cli, opt, optarg);
        if (rc) {
            iob_cli_free(&cli);
            return rc < 0 ? iob_cli_usage_error(cli.prog, "unexpected option") : rc;
        }
    }
    if (optind < argc) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "unexpected argument '%s'", argv[optind]);
    }
    if ((rc = iob_cli_finish(&cli, "resnet50"))) {
        iob_cli_free(&cli);
        return rc;
    }
    iob_bound_opts bopts = iob_bound_opts_for(&cli.machine, 4);
    iob_error err;
    if (iob_bound_opts_check(&bopts, &err)) {
        rc = iob_cli_fail(&cli, &err);
        iob_cli_free(&cli);
        return rc;
    }

    cJSON *root = NULL, *jlayers = NULL;
    iob_table table;
    if (cli.format == IOB_FMT_JSON) {
        root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "machine", iob_cli_machine_json(&cli.machine));
        cJSON_AddNumberToObject(root, "s_bytes", bopts.s_words * bopts.elem_bytes);
        jlayers = cJSON_AddArrayToObject(root, "layers");
    } else if (cli.format == IOB_FMT_CSV) {
        iob_table_init(&table, NLAYERCOLS + NBOUNDCOLS);
        const char *hdr[NLAYERCOLS + NBOUNDCOLS];
        for (int i = 0; i < NLAYERCOLS; i++)
            hdr[i] = csv_layer_cols[i];
        for (int i = 0; i < NBOUNDCOLS; i++)
            hdr[NLAYERCOLS + i] = csv_bound_cols[i];
        iob_table_row(&table, hdr);
    } else {
        fprintf(cli.out, "machine %s: %d SMs, S = %lld KiB per SM (%.0f FP32 words), L2 %lld MiB\n",
                cli.machine.name, cli.machine.sm_count,
                (long long)(bopts.s_words * bopts.elem_bytes / 1024), bopts.s_words,
                (long long)(cli.machine.l2_bytes >> 20));
        iob_table_init(&table, 11);
        for (int c = 2; c < 10; c++)
            table.right[c] = c != 6;
        iob_table_rowf(&table, "layer\talgorithm\tFLOPs\tcompulsory\tbound(S)\tbound(GPU)\t"
                       "dominant\tFLOP/B max\tworkspace\tbest/bound\tnote");
    }

    /* Bounds of every layer first, in parallel (layers are independent); then print in order. */
    enum { PER_LAYER = 16 };
    size_t nl = cli.layers.count;
    iob_bound *all = calloc(nl ? nl * PER_LAYER : 1, sizeof *all);
    int *nbounds = calloc(nl ? nl * IOB_ALGO_COUNT : 1, sizeof *nbounds);
    iob_error *errs = calloc(nl ? nl : 1, sizeof *errs);
    if (dataflow < 0) {
        dataflow = nl <= 200;
        if (!dataflow)
            fprintf(stderr, "%s: %zu layers: best-dataflow ratios left out (--dataflow adds them; "
                    "about 10 ms per layer)\n", cli.prog, nl);
    }
    best_df *dfs = calloc(nl ? 2 * nl : 1, sizeof *dfs);
    best_sched *scheds = calloc(nl ? nl : 1, sizeof *scheds);
    if (!all || !nbounds || !errs || !dfs || !scheds) {
        free(dfs), free(scheds);
        free(all), free(nbounds), free(errs);
        iob_error_set(&err, IOB_ENOMEM, "out of memory for %zu layers", nl);
        goto fail;
    }
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t li = 0; li < nl; li++) {
        int used = 0;
        for (int a = 0; a < IOB_ALGO_COUNT && errs[li].code == IOB_OK; a++) {
            if (!algos.on[a])
                continue;
            int nb = 0;
            if (iob_bound_layer(&cli.layers.items[li], (iob_algo)a, &bopts,
                                &all[li * PER_LAYER + used], PER_LAYER - used, &nb, &errs[li]))
                break;
            nbounds[li * IOB_ALGO_COUNT + a] = nb;
            used += nb;
        }
        if (dataflow && algos.on[IOB_ALGO_DIRECT])
            best_dataflow(&cli.layers.items[li], IOB_ALGO_DIRECT, &cli.machine, &dfs[2 * li]);
        if (dataflow && algos.on[IOB_ALGO_WINOGRAD])
            best_dataflow(&cli.layers.items[li], IOB_ALGO_WINOGRAD, &cli.machine,
                          &dfs[2 * li + 1]);
        if (schedule && algos.on[IOB_ALGO_DIRECT]) {
            best_sched *bs = &scheds[li];
            bs->asked = 1;
            bs->st = iob_schedule_direct(&cli.layers.items[li], bopts.s_words, &bs->s, &bs->err);
        }
    }
    for (size_t li = 0; li < nl; li++) {
        const iob_layer *L = &cli.layers.items[li];
        iob_layer_counts counts;
        if (iob_layer_counts_get(L, &counts, &err))
            goto fail;
        cJSON *jl = NULL, *jb = NULL;
        char lcells[NLAYERCOLS][CELL];
        if (root) {
            jl = iob_cli_layer_json(L);
            cJSON_AddNumberToObject(jl, "flops", (double)counts.flops);
            cJSON_AddNumberToObject(jl, "compulsory_bytes", 4.0 * (double)counts.compulsory_elems);
            jb = cJSON_AddArrayToObject(jl, "bounds");
            cJSON_AddItemToArray(jlayers, jl);
        } else if (cli.format == IOB_FMT_CSV) {
            csv_layer_cells(L, &counts, lcells);
        }
        int first = 1;
        if (errs[li].code) {
            err = errs[li];
            iob_error_prefix(&err, "layer %s", L->name[0] ? L->name : "(unnamed)");
            free(all), free(nbounds), free(errs), free(dfs), free(scheds);
            goto fail;
        }
        const iob_bound *bounds = &all[li * PER_LAYER];
        const best_df *df = &dfs[2 * li];
        const best_sched *bsch = &scheds[li];
        for (int a = 0; a < IOB_ALGO_COUNT; a++) {
            int nb = nbounds[li * IOB_ALGO_COUNT + a];
            for (int i = 0; i < nb; i++, bounds++) {
                const iob_bound *b = bounds;
                const best_df *bd = b->applicable ? best_for(b, df) : NULL;
                const best_sched *bs =
                    b->applicable && b->algo == IOB_ALGO_DIRECT && bsch->asked ? bsch : NULL;
                double ratio = bd && b->bound_gpu > 0 ? bd->bytes / (b->bound_gpu * b->elem_bytes)
                                                      : 0;
                char cfgtext[256] = "";
                if (bd)
                    iob_config_format(&bd->cfg, cfgtext, sizeof cfgtext);
                if (root) {
                    cJSON *jbound = bound_json(b);
                    if (bd) {
                        cJSON *o = cJSON_AddObjectToObject(jbound, "best_dataflow");
                        cJSON_AddStringToObject(o, "config", cfgtext);
                        cJSON_AddNumberToObject(o, "predicted_bytes", bd->bytes);
                        cJSON_AddNumberToObject(o, "ratio", ratio);
                    } else {
                        cJSON_AddNullToObject(jbound, "best_dataflow");
                    }
                    if (bs) /* the schedule, or why there is none (a string) */
                        cJSON_AddItemToObject(jbound, "best_schedule",
                                              sched_json(bs, b->bound_gpu * b->elem_bytes));
                    cJSON_AddItemToArray(jb, jbound);
                } else if (cli.format == IOB_FMT_CSV) {
                    char bcells[NBOUNDCOLS][CELL];
                    csv_bound_cells(b, bcells);
                    if (bd) {
                        snprintf(bcells[NBOUNDCOLS - SCHED_COLS - 3], CELL, "%s", cfgtext);
                        snprintf(bcells[NBOUNDCOLS - SCHED_COLS - 2], CELL, "%.0f", bd->bytes);
                        snprintf(bcells[NBOUNDCOLS - SCHED_COLS - 1], CELL, "%.4g", ratio);
                    }
                    if (bs && !bs->st) {
                        snprintf(bcells[NBOUNDCOLS - 2], CELL, "%.0f", 4 * bs->s.words);
                        sched_tile(&bs->s, bcells[NBOUNDCOLS - 1], CELL);
                    }
                    const char *row[NLAYERCOLS + NBOUNDCOLS];
                    for (int c = 0; c < NLAYERCOLS; c++)
                        row[c] = lcells[c];
                    for (int c = 0; c < NBOUNDCOLS; c++)
                        row[NLAYERCOLS + c] = bcells[c];
                    iob_table_row(&table, row);
                } else {
                    char f1[32], f2[32], f3[32], f4[32], f5[32], shape[160] = "", note[400];
                    const char *lname = first ? (L->name[0] ? L->name : "-") : "";
                    if (first)
                        snprintf(shape, sizeof shape,
                                 "n%lld c%lld %lldx%lld k%lld %lldx%lld /%lld -> %lldx%lld",
                                 (long long)L->n, (long long)L->c, (long long)L->h,
                                 (long long)L->w, (long long)L->k, (long long)L->r,
                                 (long long)L->s, (long long)L->stride_h, (long long)L->p,
                                 (long long)L->q);
                    if (!b->applicable) {
                        iob_table_rowf(&table, "%s\t%s\t-\t-\t-\t-\tn/a\t-\t-\t-\t%s%s%s", lname,
                                       b->variant, shape, shape[0] ? "; " : "", b->reason);
                    } else {
                        double eb = b->elem_bytes;
                        char rbuf[32] = "-";
                        if (bd)
                            snprintf(rbuf, sizeof rbuf, "%.2fx", ratio);
                        snprintf(note, sizeof note, "%s", shape);
                        if (bs && bs->st) {
                            snprintf(note + strlen(note), sizeof note - strlen(note),
                                     "%sno schedule: %.200s", note[0] ? "; " : "", bs->err.msg);
                        } else if (bs) {
                            char f6[32], tile[96];
                            sched_tile(&bs->s, tile, sizeof tile);
                            snprintf(note + strlen(note), sizeof note - strlen(note),
                                     "%sschedule %s = %.2fx bound(GPU) (tile %s)",
                                     note[0] ? "; " : "", iob_fmt_bytes(4 * bs->s.words, f6, sizeof f6),
                                     b->bound_gpu > 0 ? bs->s.words / b->bound_gpu : 0.0, tile);
                        }
                        iob_table_rowf(&table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3g\t%s\t%s\t%s", lname,
                                       b->variant, iob_fmt_count(b->flops, f1, sizeof f1),
                                       iob_fmt_bytes(b->compulsory * eb, f2, sizeof f2),
                                       iob_fmt_bytes(b->bound * eb, f3, sizeof f3),
                                       iob_fmt_bytes(b->bound_gpu * eb, f4, sizeof f4),
                                       b->dominant,
                                       b->bound_gpu > 0 ? b->flops / (b->bound_gpu * eb) : 0.0,
                                       b->workspace > 0
                                           ? iob_fmt_bytes(b->workspace * eb, f5, sizeof f5)
                                           : "0",
                                       rbuf, note);
                    }
                    first = 0;
                }
            }
        }
    }
    free(all), free(nbounds), free(errs), free(dfs), free(scheds);
    if (root) {
        rc = iob_cli_write_json(&cli, root);
        cJSON_Delete(root);
    } else {
        iob_table_print(&table, cli.out, cli.format);
        iob_table_free(&table);
        rc = 0;
    }
    iob_cli_free(&cli);
    return rc;

fail:
    if (root)
        cJSON_Delete(root);
    else
        iob_table_free(&table);
    rc = iob_cli_fail(&cli, &err);
    iob_cli_free(&cli);
    return rc;
}
