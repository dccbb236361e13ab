/* bench_direct_timefit.c - fits the constants of the direct kernel's time model
 * (model/direct_time.c: ipc, latency, l2_bw, launch) to the times measured on the H100, by least
 * squares on log(predicted / measured) with GSL's Nelder-Mead (gsl_multimin_fminimizer_nmsimplex2,
 * on the logarithms of the constants), and prints the fit, its residuals per layer and the
 * predicted/measured ratios of the constants in use (docs/model.md, "Time model").
 *
 * The measurements are of the first kernel (v1: 4-byte and 16-byte cp.async.ca copies, stores
 * straight from registers); its features come from its plans (validate-direct-v1-plans.csv:
 * threads, shared memory, blocks per SM, copy widths) and the instruction counts of its SASS, and
 * the traffic terms take the measured SM<->L2 and DRAM bytes (the hardware's, which the v1 model
 * did not predict exactly). The fitted constants are then the machine's, not the kernel's.
 *
 *     bench_direct_timefit [VALIDATE.csv [PLANS.csv]]
 *     (defaults: docs/results/device/validate-direct-v1.csv, .../validate-direct-v1-plans.csv)
 *     bench_direct_timefit --current VALIDATE.csv
 *     (a sweep of the current kernel, e.g. scripts/device.sh's validate-h100.csv: its features
 *     from the model, iob_direct_time_features_get, with the measured traffic)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>

#include "iobound/dataflow.h"
#include "iobound/validate.h"
#include "model/direct_model.h"

/* v1's SASS (ptxas of commit ff083e1, CUDA 13.0, sm_90): 16 instructions per cp.async with its
 * index arithmetic, 40 per stage, about 5 per output stored from registers (STG, predicate,
 * address) and 80 per block */
#define V1_INSTR_COPY 16.0
#define V1_INSTR_STAGE 40.0
#define V1_INSTR_STORE 5.0
#define V1_INSTR_BLOCK 80.0
#define V1_INSTR_CR 4.0
#define MAX_ROWS 64

typedef struct plan_v1 {
    char spec[512], config[256];
    int threads, blocks_per_sm, iw_pitch, iw_copy, vec_in, vec_f, vec_q, vec_k, q_window;
    double smem_bytes, grid_blocks;
} plan_v1;

typedef struct sample {
    char name[160];
    iob_direct_time_features f;
    double meas_s;
} sample;

/* Splits a CSV line of plain and double-quoted fields (no quotes inside). */
static int split_csv(char *line, char **field, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        if (*p == '"') {
            field[n++] = ++p;
            while (*p && *p != '"')
                p++;
            if (*p)
                *p++ = '\0';
        } else {
            field[n++] = p;
            while (*p && *p != ',' && *p != '\n')
                p++;
        }
        if (*p == ',' || *p == '\n')
            *p++ = '\0';
    }
    return n;
}

static int read_plans(const char *path, plan_v1 *plans, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char line[2048];
    int n = 0, header = 0;
    while (fgets(line, sizeof line, fp) && n < max) {
        if (line[0] == '#')
            continue;
        if (!header++)
            continue;
        char *f[16];
        if (split_csv(line, f, 16) < 15)
            continue;
        plan_v1 *p = &plans[n++];
        snprintf(p->spec, sizeof p->spec, "%s", f[0]);
        snprintf(p->config, sizeof p->config, "%s", f[1]);
        p->threads = atoi(f[2]);
        p->smem_bytes = atof(f[3]);
        p->blocks_per_sm = atoi(f[4]);
        p->grid_blocks = atof(f[6]);
        p->iw_pitch = atoi(f[7]);
        p->iw_copy = atoi(f[8]);
        p->vec_in = atoi(f[9]);
        p->vec_f = atoi(f[10]);
        p->vec_q = atoi(f[11]);
        p->vec_k = atoi(f[12]);
        p->q_window = atoi(f[13]);
    }
    fclose(fp);
    return n;
}

/* Distinct values of j*a + s*d, j < mq, s < S (the patch words of a thread per (c, r)). */
static int distinct_offsets(int mq, int a, int S, int d)
{
    char seen[4096] = {0};
    int n = 0;
    for (int j = 0; j < mq; j++)
        for (int s = 0; s < S; s++) {
            int x = j * a + s * d;
            if (x < 4096 && !seen[x]) {
                seen[x] = 1;
                n++;
            }
        }
    return n;
}

/* The v1 kernel's features, with the measured traffic. */
static void features_v1(const iob_layer *L, const iob_config *c, const plan_v1 *p,
                        const iob_record *r, const iob_machine *m, iob_direct_time_features *f)
{
    memset(f, 0, sizeof *f);
    int tqt = c->tile_q / c->micro_q;
    int acc = c->micro_k * c->micro_p * c->micro_q;
    int64_t cg = L->c / L->groups, chunks = (cg + c->tile_c - 1) / c->tile_c;
    int ih = (int)((c->tile_p - 1) * L->stride_h + (L->r - 1) * L->dil_h + 1);
    int x = p->vec_q ? c->micro_q
                     : distinct_offsets(c->micro_q,
                                        (int)((p->q_window ? 1 : tqt) * L->stride_w), (int)L->s,
                                        (int)L->dil_w);
    double tc = c->tile_c;
    f->per_sm_blocks = ceil(p->grid_blocks / m->sm_count);
    f->resident = fmin(p->blocks_per_sm, f->per_sm_blocks);
    f->warps = (p->threads + 31) / 32;
    f->chunks = (double)chunks / c->split_c;
    f->stages = c->stages;
    /* a stage's reads: the measured read sectors spread over the block stages */
    f->stage_l2_bytes = r->meas[IOB_LVL_L2_READ] / (p->grid_blocks * f->chunks);
    double lds_cr = L->s * (p->vec_k ? c->micro_k / 4.0 : c->micro_k) +
                    c->micro_p * (p->vec_q ? x / 4.0 : x);
    double copies = ceil((tc * ih * p->iw_copy / (p->vec_in ? 4 : 1) +
                          tc * L->r * L->s * c->tile_k / (p->vec_f ? 4 : 1)) /
                         p->threads);
    f->instr_stage = tc * L->r * L->s * acc + tc * L->r * (lds_cr + V1_INSTR_CR) +
                     copies * V1_INSTR_COPY + V1_INSTR_STAGE;
    f->instr_block = V1_INSTR_BLOCK + acc * V1_INSTR_STORE;
    f->wavefronts_stage = (c->micro_p * (p->vec_q ? x / 4.0 : x) + L->s * c->micro_k) * f->warps *
                              tc * L->r +
                          (tc * ih * p->iw_copy + tc * L->r * L->s * c->tile_k) / 32.0;
    f->wavefronts_block = 0;
    /* traffic: the measured bytes; with a split the reduction's share (its partial reads and
     * output writes, predicted) runs after the main kernel */
    double l2 = r->meas[IOB_LVL_L2_READ] + r->meas[IOB_LVL_L2_WRITE];
    double dram = r->meas[IOB_LVL_DRAM_READ] + r->meas[IOB_LVL_DRAM_WRITE];
    f->kernels = c->split_c > 1 ? 2 : 1;
    if (c->split_c > 1) {
        double out = 4.0 * (double)(L->n * L->k * L->p * L->q);
        double ws = c->split_c * ceil(out / 128) * 128;
        f->reduce_l2_bytes = ws + out;
        f->reduce_dram_bytes = ws + out;
        l2 = fmax(l2 - f->reduce_l2_bytes, 0);
        dram = fmax(dram - f->reduce_dram_bytes, 0);
    }
    /* v1's stores wrote every sector in 4-byte requests (measured/predicted write sectors = 8
     * for micro_q = 8): the write sectors are partial-write requests */
    double wr = r->meas[IOB_LVL_L2_WRITE];
    if (c->split_c > 1)
        wr = fmax(wr - 4.0 * (double)(L->n * L->k * L->p * L->q), 0);
    f->l2_partial_bytes = fmin(wr, l2);
    f->l2_bytes = l2 - f->l2_partial_bytes;
    f->dram_bytes = dram;
}

/* The current kernel's features, with the measured traffic. */
static int features_current(const iob_layer *L, const iob_config *c, const iob_record *r,
                            const iob_machine *m, iob_direct_time_features *f)
{
    iob_resources res;
    iob_direct_geom g;
    if (iob_dataflow_check(L, c, m, &res, NULL))
        return -1;
    iob_direct_geom_get(L, c, &g);
    iob_direct_time_features_get(L, c, m, &res, &g, f);
    double l2 = r->meas[IOB_LVL_L2_READ] + r->meas[IOB_LVL_L2_WRITE];
    double dram = r->meas[IOB_LVL_DRAM_READ] + r->meas[IOB_LVL_DRAM_WRITE];
    double chunks = (double)g.grid_blocks * f->chunks;
    if (c->split_c > 1) {
        double out = 4.0 * (double)g.elems_out, ws = (double)g.ws_partial_bytes;
        f->reduce_l2_bytes = ws + out;
        f->reduce_dram_bytes = ws + out;
        l2 = fmax(l2 - f->reduce_l2_bytes, 0);
        dram = fmax(dram - f->reduce_dram_bytes, 0);
    }
    f->stage_l2_bytes = r->meas[IOB_LVL_L2_READ] / chunks;
    f->l2_bytes = l2;
    f->dram_bytes = dram;
    return 0;
}

typedef struct fit_data {
    sample *s;
    int n;
    const iob_machine *m;
} fit_data;

/* The fitted constants: ipc, latency, launch and the partial-write L2 rate. Not identifiable from
 * v1's runs, so kept as in use: the whole-sector L2 bandwidth (v1's L2 traffic was mostly partial
 * writes; a cited figure) and a warp's issue rate (every v1 run had 6 or more resident warps per
 * SM, where 0.5 a warp is not binding: fitting it moves the residual by under 0.001). */
static void consts_of(const gsl_vector *u, iob_direct_time_consts *k)
{
    *k = iob_direct_time_h100;
    k->ipc = exp(gsl_vector_get(u, 0));
    k->latency = exp(gsl_vector_get(u, 1));
    k->launch = exp(gsl_vector_get(u, 2));
    k->l2_partial_bw = exp(gsl_vector_get(u, 3));
}

static double sum_sq(const gsl_vector *u, void *params)
{
    const fit_data *d = params;
    iob_direct_time_consts k;
    consts_of(u, &k);
    double sum = 0;
    /* ipc above 4 is no SM (4 schedulers, one instruction a cycle each) */
    if (k.ipc > 4)
        sum += 1e3 * (k.ipc - 4) * (k.ipc - 4);

    for (int i = 0; i < d->n; i++) {
        double e = log(iob_direct_time_eval(&d->s[i].f, &k, d->m, NULL) / d->s[i].meas_s);
        sum += e * e;
    }
    return sum;
}

static void report(const char *title, const fit_data *d, const iob_direct_time_consts *k)
{
    printf("\n%s: ipc %.3f (a warp %.3f), latency %.0f cycles, L2 %.2f TB/s (partial writes "
           "%.2f TB/s), launch %.2f us\n\n", title, k->ipc, k->ipc_warp, k->latency,
           k->l2_bw / 1e12, k->l2_partial_bw / 1e12, k->launch * 1e6);
    printf("| layer | measured us | predicted us | predicted / measured | limiter |\n");
    printf("|---|---|---|---|---|\n");
    double sq = 0, worst = 0;
    for (int i = 0; i < d->n; i++) {
        iob_direct_time_parts p;
        double t = iob_direct_time_eval(&d->s[i].f, k, d->m, &p);
        double ratio = t / d->s[i].meas_s, e = log(ratio);
        const char *lim = p.issue_s >= fmax(p.l2_s, p.dram_s)
                              ? (p.latency_share > 0.5 ? "latency" : "issue")
                              : (p.l2_s >= p.dram_s ? "l2" : "dram");
        printf("| %s | %.1f | %.1f | %.2f | %s |\n", d->s[i].name, d->s[i].meas_s * 1e6, t * 1e6,
               ratio, lim);
        sq += e * e;
        if (fabs(e) > worst)
            worst = fabs(e);
    }
    printf("\nrms |log(pred/meas)| %.3f (factor %.2f), worst factor %.2f\n", sqrt(sq / d->n),
           exp(sqrt(sq / d->n)), exp(worst));
}

int main(int argc, char **argv)
{
    int current = argc > 1 && !strcmp(argv[1], "--current");
    if (current) {
        argv++;
        argc--;
    }
    const char *vpath = argc > 1 ? argv[1] : "docs/results/device/validate-direct-v1.csv";
    const char *ppath = argc > 2 ? argv[2] : "docs/results/device/validate-direct-v1-plans.csv";
    iob_error err;
    iob_machine m;
    iob_record_list recs = {0};
    static plan_v1 plans[MAX_ROWS];
    static sample samples[MAX_ROWS];
    if (iob_machine_get("h100-sxm", &m, &err) || iob_records_read(vpath, &recs, &err)) {
        fprintf(stderr, "bench_direct_timefit: %s\n", err.msg);
        return 2;
    }
    int np = current ? 0 : read_plans(ppath, plans, MAX_ROWS), n = 0;
    if (!current && np <= 0) {
        fprintf(stderr, "bench_direct_timefit: cannot read %s\n", ppath);
        return 2;
    }
    for (size_t i = 0; i < recs.count && n < MAX_ROWS; i++) {
        const iob_record *r = &recs.items[i];
        if (strcmp(r->algo, "direct") || isnan(r->meas[IOB_LVL_TIME]))
            continue;
        int j;
        for (j = 0; j < np; j++)
            if (!strcmp(plans[j].spec, r->layer_spec) && !strcmp(plans[j].config, r->config))
                break;
        iob_layer L;
        iob_config c;
        if ((!current && j == np) || iob_layer_parse(r->layer_spec, &L, &err) ||
            iob_config_parse(r->config, &c, &err) ||
            (current && features_current(&L, &c, r, &m, &samples[n].f))) {
            fprintf(stderr, "bench_direct_timefit: no plan for %s %s\n", r->layer, r->config);
            continue;
        }
        snprintf(samples[n].name, sizeof samples[n].name, "%s n=%lld", r->layer, (long long)L.n);
        if (!current)
            features_v1(&L, &c, &plans[j], r, &m, &samples[n].f);
        samples[n].meas_s = r->meas[IOB_LVL_TIME] * 1e-3;
        n++;
    }
    iob_record_list_free(&recs);
    fit_data d = {samples, n, &m};
    printf("# Time model fit on %d measured direct runs (%s)\n", n, vpath);
    report("Constants in use (model/direct_time.c)", &d, &iob_direct_time_h100);

    gsl_multimin_function fn = {sum_sq, 4, &d};
    gsl_vector *x = gsl_vector_alloc(4), *step = gsl_vector_alloc(4);
    gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 4);
    gsl_vector_set(x, 0, log(2.0));
    gsl_vector_set(x, 1, log(1000.0));
    gsl_vector_set(x, 2, log(3e-6));
    gsl_vector_set(x, 3, log(2e12));
    gsl_vector_set_all(step, 0.5);
    gsl_multimin_fminimizer_set(s, &fn, x, step);
    int status = GSL_CONTINUE;
    for (int it = 0; it < 20000 && status == GSL_CONTINUE; it++) {
        if (gsl_multimin_fminimizer_iterate(s))
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), 1e-7);
    }
    iob_direct_time_consts k;
    consts_of(s->x, &k);
    report("Least-squares fit", &d, &k);
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x);
    gsl_vector_free(step);
    return 0;
}
