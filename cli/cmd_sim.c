/* cmd_sim.c - `iobound sim`: replays a config's trace through the cache simulator and prints,
 * per memory level, the traffic and hit rates with the lower bound, the closed form's
 * prediction and the simulation side by side. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/bound.h"
#include "iobound/sim.h"

static const char help[] =
    "usage: iobound sim (--layer SPEC | --layers FILE | --net NAME) [--algo A]\n"
    "                   [--config C|best] [--l2 BYTES] [--ways N] [--policy lru|opt]\n"
    "                   [--l1 BYTES] [--l1-ways N] [--trace FILE] [--format F] [-o FILE]\n"
    "\n"
    "Replays the global-memory access stream of a config's kernels (32-byte sectors, block by\n"
    "block, blocks on the SMs in waves) through a model of the GPU's caches: an optional L1 per\n"
    "SM and the shared L2 (128-byte lines of four sectors, set-associative, write-back). Per\n"
    "level it prints the traffic and hit rates next to the I/O lower bound and the closed-form\n"
    "prediction of the same config (iobound dataflow).\n"
    "\n"
    "  --algo A           direct (default), winograd, im2col, im2win or gemm\n"
    "  --config C|best    a config \"algo=direct,tile_k=64,...\" or its JSON object, or best\n"
    "                     (default): the config of least predicted time\n"
    "  --l2 BYTES         L2 capacity (default: the machine's; 50M on h100-sxm)\n"
    "  --ways N           L2 associativity (default 16); capacity / (128 B x N) sets, any count\n"
    "  --policy P         L2 replacement: lru (default) or opt (Belady; two passes, the access\n"
    "                     stream's next uses kept in a temporary file in $TMPDIR)\n"
    "  --l1 BYTES         simulate an L1 of this size per SM (LRU, 128 B lines, write-through);\n"
    "                     default: bypassed, the trace being the SM<->L2 stream already\n"
    "  --l1-ways N        L1 associativity (default 4)\n"
    "  --trace FILE       also write the SM access stream in Dinero IV din format (label 0 read,\n"
    "                     1 write, hex address; one layer only)\n"
    "%s%s"
    "\n"
    "Bound: the SM<->L2 total is the algorithm's GPU-wide lower bound (iobound bound), the\n"
    "writes and the DRAM figures the layer's compulsory traffic. Layers run in parallel.\n";

typedef struct layer_run {
    iob_status st;
    iob_error err;
    iob_config cfg;
    iob_traffic pred;
    iob_sim_result sim;
    iob_bound bound;
    int have_bound;
    iob_layer_counts counts;
    int blocks_per_sm;
    double seconds;
} layer_run;

typedef struct sim_args {
    iob_algo algo;
    int algo_given;
    const char *config; /* NULL = best */
    int ways;
    iob_cache_policy policy;
    int64_t l1_bytes;
    int l1_ways;
    const char *trace_path;
} sim_args;

static int parse_int(const char *prog, const char *opt, const char *arg, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi)
        return iob_cli_usage_error(prog, "%s %s: expected a whole number from %d to %d", opt, arg,
                                   lo, hi);
    *out = (int)v;
    return 0;
}

/* A config from "k=v,..." text or a JSON object of the same keys; the algorithm is --algo's when
 * the text does not name one, and must agree with it when both do. */
static iob_status parse_config(const char *text, const sim_args *a, iob_config *cfg,
                               iob_error *err)
{
    char buf[1024];
    const char *kv = text;
    if (text[strspn(text, " \t")] == '{') {
        cJSON *j = cJSON_Parse(text);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            return iob_error_set(err, IOB_EINVAL, "--config: malformed JSON object");
        }
        size_t n = 0;
        buf[0] = '\0';
        for (cJSON *it = j->child; it; it = it->next) {
            char item[160];
            if (cJSON_IsString(it))
                snprintf(item, sizeof item, "%s=%s,", it->string, it->valuestring);
            else if (cJSON_IsNumber(it) && it->valuedouble == floor(it->valuedouble))
                snprintf(item, sizeof item, "%s=%.0f,", it->string, it->valuedouble);
            else {
                iob_error_set(err, IOB_EINVAL, "--config: key '%s' is not a whole number",
                              it->string);
                cJSON_Delete(j);
                return IOB_EINVAL;
            }
            if (n + strlen(item) >= sizeof buf) {
                cJSON_Delete(j);
                return iob_error_set(err, IOB_EINVAL, "--config: too long");
            }
            strcpy(buf + n, item);
            n += strlen(item);
        }
        cJSON_Delete(j);
        kv = buf;
    }
    char full[1100];
    int has_algo = strstr(kv, "algo") != NULL;
    snprintf(full, sizeof full, "%s%s%s", has_algo ? "" : "algo=",
             has_algo ? "" : iob_algo_name(a->algo), has_algo ? "" : ",");
    if (strlen(full) + strlen(kv) >= sizeof full)
        return iob_error_set(err, IOB_EINVAL, "--config: too long");
    strcat(full, kv);
    iob_status st = iob_config_parse(full, cfg, err);
    if (st) {
        iob_error_prefix(err, "--config");
        return st;
    }
    if (a->algo_given && cfg->algo != a->algo)
        return iob_error_set(err, IOB_EINVAL, "--config names algo=%s but --algo is %s",
                             iob_algo_name(cfg->algo), iob_algo_name(a->algo));
    return IOB_OK;
}

/* The bound entry of the algorithm that matches the config (Winograd: its F(m x m) fused
 * variant), else the least GPU bound of the applicable variants. */
static int pick_bound(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                      iob_bound *out, iob_error *err)
{
    iob_bound b[16];
    int nb = 0;
    iob_bound_opts bo = iob_bound_opts_for(m, 4);
    if (iob_bound_opts_check(&bo, err) || iob_bound_layer(L, cfg->algo, &bo, b, 16, &nb, err))
        return 0;
    int best = -1;
    char want[32];
    snprintf(want, sizeof want, "F(%dx%d,", cfg->wino_m, cfg->wino_m);
    for (int i = 0; i < nb; i++) {
        if (!b[i].applicable)
            continue;
        if (cfg->algo == IOB_ALGO_WINOGRAD && cfg->wino_m > 0 && strstr(b[i].variant, want) &&
            strstr(b[i].variant, "fused")) {
            best = i;
            break;
        }
        if (best < 0 || b[i].bound_gpu < b[best].bound_gpu)
            best = i;
    }
    if (best < 0)
        return 0;
    *out = b[best];
    return 1;
}

/* "50 MiB", "96 KiB", "1000 B": cache sizes in the units they are given in. */
static const char *fmt_size(int64_t b, char *buf, size_t size)
{
    if (b >= 1 << 20 && b % (1 << 20) == 0)
        snprintf(buf, size, "%lld MiB", (long long)(b >> 20));
    else if (b >= 1 << 10 && b % (1 << 10) == 0)
        snprintf(buf, size, "%lld KiB", (long long)(b >> 10));
    else
        snprintf(buf, size, "%lld B", (long long)b);
    return buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run_layer(const iob_layer *L, const iob_machine *m, const sim_args *a,
                      const iob_sim_opts *opts, layer_run *r)
{
    iob_error *err = &r->err;
    if ((r->st = iob_layer_counts_get(L, &r->counts, err)))
        return;
    if (a->config) {
        if ((r->st = parse_config(a->config, a, &r->cfg, err)) ||
            (r->st = iob_dataflow_predict(L, &r->cfg, m, &r->pred, err)))
            return;
    } else if ((r->st = iob_dataflow_best(L, a->algo, m, IOB_OBJ_TIME, &r->cfg, &r->pred, err))) {
        return;
    }
    iob_resources res;
    if ((r->st = iob_dataflow_check(L, &r->cfg, m, &res, err)))
        return;
    r->blocks_per_sm = res.blocks_per_sm > 0 ? res.blocks_per_sm : 1;
    iob_error berr;
    r->have_bound = pick_bound(L, &r->cfg, m, &r->bound, &berr);
    double t0 = now();
    r->st = iob_sim_layer(L, &r->cfg, m, opts, &r->sim, err);
    r->seconds = now() - t0;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static cJSON *config_json(const iob_config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "algo", iob_algo_name(cfg->algo));
    for (int i = 0; i < iob_config_field_count(); i++) {
        const iob_config_field *f = iob_config_field_at(i);
        cJSON_AddNumberToObject(o, f->key, *(const int *)((const char *)cfg + f->offset));
    }
    return o;
}

static cJSON *layer_json(const iob_layer *L, const layer_run *r, const sim_args *a,
                         const iob_sim_opts *o, const iob_machine *m)
{
    const iob_sim_result *s = &r->sim;
    const iob_traffic *p = &r->pred;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "layer", iob_cli_layer_json(L));
    cJSON_AddStringToObject(j, "algo", iob_algo_name(r->cfg.algo));
    cJSON_AddItemToObject(j, "config", config_json(&r->cfg));
    char text[256];
    iob_config_format(&r->cfg, text, sizeof text);
    cJSON_AddStringToObject(j, "config_text", text);
    cJSON_AddNumberToObject(j, "sm_count", m->sm_count);
    cJSON_AddNumberToObject(j, "blocks_per_sm", r->blocks_per_sm);
    cJSON *l2 = cJSON_AddObjectToObject(j, "l2");
    cJSON_AddNumberToObject(l2, "bytes", (double)s->l2_bytes);
    cJSON_AddNumberToObject(l2, "ways", s->l2_ways);
    cJSON_AddNumberToObject(l2, "sets", (double)s->l2_sets);
    cJSON_AddNumberToObject(l2, "line_bytes", m->l2_line_bytes);
    cJSON_AddNumberToObject(l2, "sector_bytes", m->sector_bytes);
    cJSON_AddStringToObject(l2, "policy", iob_cache_policy_name(s->l2_policy));
    if (o->l1_bytes > 0) {
        cJSON *l1 = cJSON_AddObjectToObject(j, "l1");
        cJSON_AddNumberToObject(l1, "bytes", (double)o->l1_bytes);
        cJSON_AddNumberToObject(l1, "ways", a->l1_ways);
        cJSON_AddNumberToObject(l1, "line_bytes", 128);
    } else {
        cJSON_AddNullToObject(j, "l1");
    }
    cJSON *b = cJSON_AddObjectToObject(j, "bound");
    double out_bytes = 4.0 * (double)r->counts.output_elems;
    if (r->have_bound) {
        cJSON_AddStringToObject(b, "variant", r->bound.variant);
        cJSON_AddNumberToObject(b, "sm_l2_bytes", r->bound.bound_gpu * r->bound.elem_bytes);
    } else {
        cJSON_AddNullToObject(b, "variant");
        cJSON_AddNullToObject(b, "sm_l2_bytes");
    }
    cJSON_AddNumberToObject(b, "sm_l2_write_bytes", out_bytes);
    cJSON_AddNumberToObject(b, "dram_read_bytes",
                            4.0 * (double)(r->counts.input_used_elems + r->counts.weight_elems));
    cJSON_AddNumberToObject(b, "dram_write_bytes", out_bytes);
    cJSON *pj = cJSON_AddObjectToObject(j, "predicted");
    cJSON_AddNumberToObject(pj, "l2_read_sectors", (double)p->l2_read_sectors);
    cJSON_AddNumberToObject(pj, "l2_write_sectors", (double)p->l2_write_sectors);
    cJSON_AddNumberToObject(pj, "l2_read_bytes", (double)p->l2_read_bytes);
    cJSON_AddNumberToObject(pj, "l2_write_bytes", (double)p->l2_write_bytes);
    cJSON_AddNumberToObject(pj, "dram_read_bytes", p->dram_read_bytes);
    cJSON_AddNumberToObject(pj, "dram_write_bytes", p->dram_write_bytes);
    cJSON_AddBoolToObject(pj, "dram_exact", p->dram_exact);
    cJSON_AddNumberToObject(pj, "time_s", p->time_s);
    cJSON *sj = cJSON_AddObjectToObject(j, "simulated");
    cJSON_AddNumberToObject(sj, "accesses", (double)s->accesses);
    cJSON_AddNumberToObject(sj, "l2_read_sectors", (double)s->l2_read_sectors);
    cJSON_AddNumberToObject(sj, "l2_write_sectors", (double)s->l2_write_sectors);
    cJSON_AddNumberToObject(sj, "l2_read_bytes", (double)s->l2_read_bytes);
    cJSON_AddNumberToObject(sj, "l2_write_bytes", (double)s->l2_write_bytes);
    cJSON_AddNumberToObject(sj, "l2_read_hits", (double)s->l2.read_hits);
    cJSON_AddNumberToObject(sj, "l2_read_misses", (double)s->l2.read_misses);
    cJSON_AddNumberToObject(sj, "l2_write_hits", (double)s->l2.write_hits);
    cJSON_AddNumberToObject(sj, "l2_write_misses", (double)s->l2.write_misses);
    cJSON_AddNumberToObject(sj, "l2_read_hit_rate", s->l2_read_hit_rate);
    cJSON_AddNumberToObject(sj, "l2_hit_rate", s->l2_hit_rate);
    if (o->l1_bytes > 0) {
        cJSON_AddNumberToObject(sj, "l1_read_hits", (double)s->l1.read_hits);
        cJSON_AddNumberToObject(sj, "l1_read_misses", (double)s->l1.read_misses);
        cJSON_AddNumberToObject(sj, "l1_read_hit_rate", s->l1_read_hit_rate);
    }
    cJSON_AddNumberToObject(sj, "dram_read_bytes", (double)s->dram_read_bytes);
    cJSON_AddNumberToObject(sj, "dram_write_bytes", (double)s->dram_write_bytes);
    cJSON_AddNumberToObject(sj, "dram_write_flush_bytes", (double)s->dram_write_flush_bytes);
    cJSON_AddNumberToObject(sj, "kernels", s->kernels);
    cJSON_AddNumberToObject(sj, "blocks", (double)s->blocks);
    cJSON_AddNumberToObject(sj, "max_block_accesses", (double)s->max_block_accesses);
    cJSON_AddNumberToObject(sj, "seconds", r->seconds);
    return j;
}

static const char *const csv_cols[] = {
    "name", "spec", "algo", "config", "policy", "l2_bytes", "l2_ways", "l1_bytes",
    "bound_sm_l2_bytes", "pred_l2_read_bytes", "pred_l2_write_bytes", "sim_l2_read_bytes",
    "sim_l2_write_bytes", "sim_l2_read_hit_rate", "sim_l2_hit_rate", "sim_l1_read_hit_rate",
    "bound_dram_read_bytes", "bound_dram_write_bytes", "pred_dram_read_bytes",
    "pred_dram_write_bytes", "pred_dram_exact", "sim_dram_read_bytes", "sim_dram_write_bytes",
    "sim_seconds"};
#define NCSV ((int)(sizeof csv_cols / sizeof csv_cols[0]))

static void csv_row(iob_table *t, const iob_layer *L, const layer_run *r, const iob_sim_opts *o)
{
    char cells[NCSV][600];
    char spec[512], text[256];
    iob_layer_format(L, spec, sizeof spec);
    iob_config_format(&r->cfg, text, sizeof text);
    const iob_sim_result *s = &r->sim;
    snprintf(cells[0], 600, "%s", L->name);
    snprintf(cells[1], 600, "%s", spec);
    snprintf(cells[2], 600, "%s", iob_algo_name(r->cfg.algo));
    snprintf(cells[3], 600, "%s", text);
    snprintf(cells[4], 600, "%s", iob_cache_policy_name(s->l2_policy));
    snprintf(cells[5], 600, "%lld", (long long)s->l2_bytes);
    snprintf(cells[6], 600, "%d", s->l2_ways);
    snprintf(cells[7], 600, "%lld", (long long)o->l1_bytes);
    if (r->have_bound)
        snprintf(cells[8], 600, "%.0f", r->bound.bound_gpu * r->bound.elem_bytes);
    else
        cells[8][0] = '\0';
    snprintf(cells[9], 600, "%llu", (unsigned long long)r->pred.l2_read_bytes);
    snprintf(cells[10], 600, "%llu", (unsigned long long)r->pred.l2_write_bytes);
    snprintf(cells[11], 600, "%llu", (unsigned long long)s->l2_read_bytes);
    snprintf(cells[12], 600, "%llu", (unsigned long long)s->l2_write_bytes);
    snprintf(cells[13], 600, "%.6f", s->l2_read_hit_rate);
    snprintf(cells[14], 600, "%.6f", s->l2_hit_rate);
    if (o->l1_bytes > 0)
        snprintf(cells[15], 600, "%.6f", s->l1_read_hit_rate);
    else
        cells[15][0] = '\0';
    snprintf(cells[16], 600, "%llu", (unsigned long long)(4 * (r->counts.input_used_elems +
                                                               r->counts.weight_elems)));
    snprintf(cells[17], 600, "%llu", (unsigned long long)(4 * r->counts.output_elems));
    snprintf(cells[18], 600, "%.0f", r->pred.dram_read_bytes);
    snprintf(cells[19], 600, "%.0f", r->pred.dram_write_bytes);
    snprintf(cells[20], 600, "%d", r->pred.dram_exact);
    snprintf(cells[21], 600, "%llu", (unsigned long long)s->dram_read_bytes);
    snprintf(cells[22], 600, "%llu", (unsigned long long)s->dram_write_bytes);
    snprintf(cells[23], 600, "%.3f", r->seconds);
    const char *row[NCSV];
    for (int i = 0; i < NCSV; i++)
        row[i] = cells[i];
    iob_table_row(t, row);
}

static void print_table(FILE *out, const iob_layer *L, const layer_run *r, const iob_sim_opts *o,
                        const iob_machine *m)
{
    const iob_sim_result *s = &r->sim;
    const iob_traffic *p = &r->pred;
    char text[256], l2b[32], l1b[32];
    iob_config_format(&r->cfg, text, sizeof text);
    fprintf(out, "layer %s: n%lld c%lld %lldx%lld k%lld %lldx%lld /%lld -> %lldx%lld; %s\n",
            L->name[0] ? L->name : "-", (long long)L->n, (long long)L->c, (long long)L->h,
            (long long)L->w, (long long)L->k, (long long)L->r, (long long)L->s,
            (long long)L->stride_h, (long long)L->p, (long long)L->q, text);
    char l1s[32];
    if (o->l1_bytes > 0)
        snprintf(l1b, sizeof l1b, "L1 %s per SM", fmt_size(o->l1_bytes, l1s, sizeof l1s));
    else
        snprintf(l1b, sizeof l1b, "L1 bypassed");
    fprintf(out, "%s: %d SMs x %d blocks, %lld blocks in %d kernel(s); L2 %s, %d ways, %d B "
            "lines of %d B sectors, %lld sets, %s; %s; %.2f s\n",
            m->name, m->sm_count, r->blocks_per_sm, (long long)s->blocks, s->kernels,
            fmt_size(s->l2_bytes, l2b, sizeof l2b), s->l2_ways, m->l2_line_bytes,
            m->sector_bytes, (long long)s->l2_sets, iob_cache_policy_name(s->l2_policy), l1b,
            r->seconds);
    iob_table t;
    iob_table_init(&t, 6);
    for (int c = 2; c < 6; c++)
        t.right[c] = 1;
    iob_table_rowf(&t, "level\tquantity\tbound\tpredicted\tsimulated\tsim/pred");
    char b1[32], b2[32], b3[32];
    double out_b = 4.0 * (double)r->counts.output_elems;
    double in_b = 4.0 * (double)(r->counts.input_used_elems + r->counts.weight_elems);
    iob_table_rowf(&t, "SM<->L2\tread\t-\t%s\t%s\t%.4f",
                   iob_fmt_bytes((double)p->l2_read_bytes, b1, sizeof b1),
                   iob_fmt_bytes((double)s->l2_read_bytes, b2, sizeof b2),
                   ratio((double)s->l2_read_bytes, (double)p->l2_read_bytes));
    iob_table_rowf(&t, "SM<->L2\twrite\t%s\t%s\t%s\t%.4f", iob_fmt_bytes(out_b, b3, sizeof b3),
                   iob_fmt_bytes((double)p->l2_write_bytes, b1, sizeof b1),
                   iob_fmt_bytes((double)s->l2_write_bytes, b2, sizeof b2),
                   ratio((double)s->l2_write_bytes, (double)p->l2_write_bytes));
    double pt = (double)(p->l2_read_bytes + p->l2_write_bytes);
    double st = (double)(s->l2_read_bytes + s->l2_write_bytes);
    iob_table_rowf(&t, "SM<->L2\ttotal\t%s\t%s\t%s\t%.4f",
                   r->have_bound ? iob_fmt_bytes(r->bound.bound_gpu * r->bound.elem_bytes, b3,
                                                 sizeof b3)
                                 : "-",
                   iob_fmt_bytes(pt, b1, sizeof b1), iob_fmt_bytes(st, b2, sizeof b2),
                   ratio(st, pt));
    if (o->l1_bytes > 0)
        iob_table_rowf(&t, "L1\tread hit rate\t-\t-\t%.2f%%\t-", 100.0 * s->l1_read_hit_rate);
    iob_table_rowf(&t, "L2\tread hit rate\t-\t-\t%.2f%%\t-", 100.0 * s->l2_read_hit_rate);
    iob_table_rowf(&t, "L2\thit rate\t-\t-\t%.2f%%\t-", 100.0 * s->l2_hit_rate);
    iob_table_rowf(&t, "L2<->DRAM\tread\t%s\t%s%s\t%s\t%.4f", iob_fmt_bytes(in_b, b3, sizeof b3),
                   iob_fmt_bytes(p->dram_read_bytes, b1, sizeof b1), p->dram_exact ? "" : " est.",
                   iob_fmt_bytes((double)s->dram_read_bytes, b2, sizeof b2),
                   ratio((double)s->dram_read_bytes, p->dram_read_bytes));
    iob_table_rowf(&t, "L2<->DRAM\twrite\t%s\t%s%s\t%s\t%.4f",
                   iob_fmt_bytes(out_b, b3, sizeof b3),
                   iob_fmt_bytes(p->dram_write_bytes, b1, sizeof b1),
                   p->dram_exact ? "" : " est.",
                   iob_fmt_bytes((double)s->dram_write_bytes, b2, sizeof b2),
                   ratio((double)s->dram_write_bytes, p->dram_write_bytes));
    iob_table_print(&t, out, IOB_FMT_TABLE);
    iob_table_free(&t);
    if (s->l2_read_sectors == p->l2_read_sectors && s->l2_write_sectors == p->l2_write_sectors)
        fprintf(out, "SM<->L2 sectors: simulated = predicted (%llu read, %llu write)\n",
                (unsigned long long)s->l2_read_sectors, (unsigned long long)s->l2_write_sectors);
    else
        fprintf(out, "SM<->L2 sectors: simulated %llu read, %llu write; predicted %llu, %llu "
                "(the closed form and the trace disagree)\n",
                (unsigned long long)s->l2_read_sectors, (unsigned long long)s->l2_write_sectors,
                (unsigned long long)p->l2_read_sectors, (unsigned long long)p->l2_write_sectors);
}

int iob_cmd_sim(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound sim");
    sim_args a = {IOB_ALGO_DIRECT, 0, NULL, 16, IOB_CACHE_LRU, 0, 4, NULL};
    enum {
        OPT_ALGO = IOB_OPT_COMMON_END, OPT_CONFIG, OPT_WAYS, OPT_POLICY, OPT_L1, OPT_L1_WAYS,
        OPT_TRACE
    };
    static const struct option longopts[] = {IOB_COMMON_LONG_OPTIONS,
                                             {"algo", required_argument, 0, OPT_ALGO},
                                             {"config", required_argument, 0, OPT_CONFIG},
                                             {"ways", required_argument, 0, OPT_WAYS},
                                             {"policy", required_argument, 0, OPT_POLICY},
                                             {"l1", required_argument, 0, OPT_L1},
                                             {"l1-ways", required_argument, 0, OPT_L1_WAYS},
                                             {"trace", required_argument, 0, OPT_TRACE},
                                             {0, 0, 0, 0}};
    int opt, rc = 0;
    iob_error err;
    optind = 1;
    opterr = 0; /* one line of our own on stderr, not getopt's as well */
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
        case IOB_OPT_HELP:
            printf(help, iob_cli_common_help, iob_cli_machine_help);
            iob_cli_free(&cli);
            return 0;
        case OPT_ALGO:
            if (iob_algo_parse(optarg, &a.algo, &err))
                rc = iob_cli_usage_error(cli.prog, "--algo: %s", err.msg);
            a.algo_given = 1;
            break;
        case OPT_CONFIG:
            a.config = strcmp(optarg, "best") ? optarg : NULL;
            break;
        case OPT_WAYS:
            rc = parse_int(cli.prog, "--ways", optarg, 1, 64, &a.ways);
            break;
        case OPT_L1_WAYS:
            rc = parse_int(cli.prog, "--l1-ways", optarg, 1, 64, &a.l1_ways);
            break;
        case OPT_POLICY:
            if (iob_cache_policy_parse(optarg, &a.policy, &err))
                rc = iob_cli_usage_error(cli.prog, "--policy: %s", err.msg);
            break;
        case OPT_L1:
            if (iob_parse_bytes(optarg, &a.l1_bytes, &err))
                rc = iob_cli_usage_error(cli.prog, "--l1: %s", err.msg);
            break;
        case OPT_TRACE:
            a.trace_path = optarg;
            break;
        case '?':
            rc = iob_cli_usage_error(cli.prog, "unknown option or missing value: %s",
                                     argv[optind - 1]);
            break;
        default:
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
    if (!cli.have_layers && !cli.net) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "no layer: give --layer, --layers or --net");
    }
    if ((rc = iob_cli_finish(&cli, NULL))) {
        iob_cli_free(&cli);
        return rc;
    }
    if (a.trace_path && cli.layers.count != 1) {
        size_t count = cli.layers.count;
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "--trace writes one layer's stream; %zu layers given",
                                   count);
    }
    const iob_machine *m = &cli.machine;
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.l2_ways = a.ways;
    o.l2_policy = a.policy;
    o.l1_bytes = a.l1_bytes;
    o.l1_ways = a.l1_ways;
    /* the geometry is checked before any work: a bad one is a usage error */
    iob_cache_config l2c = {m->l2_bytes, m->l2_line_bytes, m->sector_bytes, a.ways, a.policy,
                            IOB_CACHE_WRITE_BACK};
    iob_cache_config l1c = {a.l1_bytes, 128, m->sector_bytes, a.l1_ways, IOB_CACHE_LRU,
                            IOB_CACHE_WRITE_THROUGH};
    const char *bad = iob_cache_config_check(&l2c, &err) ? "L2"
                      : a.l1_bytes > 0 && iob_cache_config_check(&l1c, &err) ? "L1" : NULL;
    if (bad) {
        iob_cli_free(&cli);
        return iob_cli_usage_error(cli.prog, "%s: %s", bad, err.msg);
    }
    if (a.config) { /* a malformed config is a usage error, before any work */
        iob_config probe;
        if (parse_config(a.config, &a, &probe, &err)) {
            iob_cli_free(&cli);
            return iob_cli_fail(&cli, &err);
        }
    }
    FILE *din = NULL;
    if (a.trace_path) {
        din = fopen(a.trace_path, "w");
        if (!din) {
            fprintf(stderr, "%s: --trace %s: cannot open for writing\n", cli.prog, a.trace_path);
            iob_cli_free(&cli);
            return IOB_EXIT_RUNTIME;
        }
        o.din = din;
    }

    size_t n = cli.layers.count;
    layer_run *runs = calloc(n ? n : 1, sizeof *runs);
    if (!runs) {
        fprintf(stderr, "%s: out of memory\n", cli.prog);
        iob_cli_free(&cli);
        return IOB_EXIT_RUNTIME;
    }
    if (n > 1)
        o.threads = 1; /* the layers run in parallel instead */
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (size_t i = 0; i < n; i++)
        run_layer(&cli.layers.items[i], m, &a, &o, &runs[i]);
    if (din && fclose(din) && !runs[0].st)
        runs[0].st = iob_error_set(&runs[0].err, IOB_EIO, "--trace %s: write error",
                                   a.trace_path);
    for (size_t i = 0; i < n; i++)
        if (runs[i].st) {
            const iob_layer *L = &cli.layers.items[i];
            if (n > 1 || L->name[0])
                iob_error_prefix(&runs[i].err, "layer %s", L->name[0] ? L->name : "(unnamed)");
            rc = iob_cli_fail(&cli, &runs[i].err);
            free(runs);
            iob_cli_free(&cli);
            return rc;
        }

    if (cli.format == IOB_FMT_JSON) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "machine", iob_cli_machine_json(m));
        cJSON *arr = cJSON_AddArrayToObject(root, "layers");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, layer_json(&cli.layers.items[i], &runs[i], &a, &o, m));
        rc = iob_cli_write_json(&cli, root);
        cJSON_Delete(root);
    } else if (cli.format == IOB_FMT_CSV) {
        iob_table t;
        iob_table_init(&t, NCSV);
        iob_table_row(&t, csv_cols);
        for (size_t i = 0; i < n; i++)
            csv_row(&t, &cli.layers.items[i], &runs[i], &o);
        iob_table_print(&t, cli.out, IOB_FMT_CSV);
        iob_table_free(&t);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc('\n', cli.out);
            print_table(cli.out, &cli.layers.items[i], &runs[i], &o, m);
        }
    }
    free(runs);
    iob_cli_free(&cli);
    return rc;
}
