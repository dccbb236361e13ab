/* plot.c - turns validation records into gnuplot data files and runs the scripts of plots/
 * (embedded at build time) to draw each figure as PNG (pngcairo where gnuplot has it, else png)
 * and SVG (docs/validate.md, "Plots").
 *
 * For each figure NAME the output folder receives NAME.dat (the data), NAME.params.gp (the
 * variables the script reads), NAME.gp (the script), NAME.png, NAME.svg and NAME.log (gnuplot's
 * messages), so that a figure can be redrawn by hand:
 *     gnuplot -e "set terminal svg; set output 'x.svg'" DIR/NAME.params.gp DIR/NAME.gp
 *
 * "Our best config" of a layer is its ok record of our dataflows with the least measured time;
 * in a file without measurements, the least predicted time.
 */
#include "iobound/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plots/scripts.h"

extern char **environ;

/* ---- finding and running gnuplot ------------------------------------------------------------ */

static int executable(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

/* Resolves prog (a path, or a name looked up in PATH) into out. 0 when found. */
static int find_program(const char *prog, char *out, size_t size)
{
    if (strchr(prog, '/')) {
        snprintf(out, size, "%s", prog);
        return executable(out) ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, size, "%.*s/%s", (int)len, len ? path : ".", prog);
        if (executable(out))
            return 0;
        path += len + (colon ? 1 : 0);
    }
    return -1;
}

/* Runs argv with stdin from /dev/null and stdout + stderr appended to log (NULL: /dev/null).
 * Returns the exit status, or -1 when it could not be started or was killed. */
static int run(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa))
        return -1;
    const char *out = log ? log : "/dev/null";
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct ctx {
    const iob_record *r;
    size_t n;
    const char *dir;
    char gnuplot[IOB_PLOT_PATH_MAX];
    char png_term[16];
    iob_machine m;
    int machine_fallback;
    /* layers in order of first appearance */
    size_t nlayers;
    const char **spec;      /* per layer */
    const char **label;
    long *best;             /* our best record per layer, -1 none */
    long *cudnn;            /* the layer's measured cuDNN record, -1 none */
    int any_meas;           /* some record of ours has measured SM<->L2 traffic or time */
} ctx;

static int is_cudnn(const iob_record *r) { return !strcmp(r->algo, IOB_RECORD_ALGO_CUDNN); }
static int pos(double v) { return isfinite(v) && v > 0; }

static const iob_plot_script *script(const char *name)
{
    for (int i = 0; i < iob_plot_script_count; i++)
        if (!strcmp(iob_plot_scripts[i].name, name))
            return &iob_plot_scripts[i];
    return NULL;
}

static void path_of(const ctx *c, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", c->dir, file);
}

static FILE *open_out(const ctx *c, const char *file, iob_error *err)
{
    char path[IOB_PLOT_PATH_MAX];
    path_of(c, file, path, sizeof path);
    FILE *fp = fopen(path, "w");
    if (!fp)
        iob_error_set(err, IOB_EIO, "%s: %s", path, strerror(errno));
    return fp;
}

static iob_status close_out(FILE *fp, const ctx *c, const char *file, iob_error *err)
{
    int bad = ferror(fp);
    if (fclose(fp) || bad) {
        char path[IOB_PLOT_PATH_MAX];
        path_of(c, file, path, sizeof path);
        return iob_error_set(err, IOB_EIO, "%s: write error", path);
    }
    return IOB_OK;
}

/* A label as a gnuplot data string: double-quoted, with quotes and backslashes replaced. */
static void put_label(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++)
        fputc(*s == '"' || *s == '\\' ? '\'' : *s, fp);
    fputc('"', fp);
}

/* A number or gnuplot's missing marker. */
static void put_num(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, " %.9g", v);
    else
        fputs(" ?", fp);
}

static void put_pos(FILE *fp, double v) { put_num(fp, pos(v) ? v : NAN); }

/* Widens [lo, hi] to include v (> 0). */
static void span(double v, double *lo, double *hi)
{
    if (!pos(v))
        return;
    if (!(*lo <= v))
        *lo = v;
    if (!(*hi >= v))
        *hi = v;
}

/* Log-axis range around [lo, hi] with a margin of a factor pad on each side, widened to whole
 * decades when decades is set (so that every panel shows labelled ticks). */
static void log_range(double lo, double hi, double pad, int decades, double *a, double *b)
{
    if (!pos(lo) || !pos(hi)) {
        *a = 1;
        *b = 10;
        return;
    }
    *a = lo / pad;
    *b = hi * pad;
    if (decades) {
        *a = pow(10, floor(log10(*a)));
        *b = pow(10, ceil(log10(*b)));
    }
    if (*b <= *a)
        *b = *a * 10;
}

/* The algorithms present, each with a fixed number (its colour in every figure): our algorithms
 * 1..IOB_ALGO_COUNT in iob_algo order, cuDNN after them. */
typedef struct algo_names {
    int seen[IOB_ALGO_COUNT + 2];
} algo_names;

static int algo_number(algo_names *a, const char *name)
{
    int id = IOB_ALGO_COUNT + 1; /* cudnn, or a name this build does not know */
    for (int i = 0; i < IOB_ALGO_COUNT; i++)
        if (!strcmp(name, iob_algo_name((iob_algo)i)))
            id = i + 1;
    a->seen[id] = 1;
    return id;
}

/* algos = "direct cudnn", algo_ids = "1 6": the legend's names and colours */
static void put_algos(FILE *fp, const algo_names *a)
{
    char names[128] = "", ids[64] = "";
    for (int id = 1; id <= IOB_ALGO_COUNT + 1; id++) {
        if (!a->seen[id])
            continue;
        size_t n = strlen(names), m = strlen(ids);
        snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                 id <= IOB_ALGO_COUNT ? iob_algo_name((iob_algo)(id - 1)) : "cuDNN");
        snprintf(ids + m, sizeof ids - m, "%s%d", m ? " " : "", id);
    }
    fprintf(fp, "algos = \"%s\"\nalgo_ids = \"%s\"\n", names, ids);
}

static void put_common_params(FILE *fp, const ctx *c)
{
    fprintf(fp, "datadir = '%s'\nmachine = \"%s\"\n", c->dir, c->m.name);
}

/* ---- selecting records ---------------------------------------------------------------------- */

static iob_status index_layers(ctx *c, iob_error *err)
{
    c->spec = calloc(c->n + 1, sizeof *c->spec);
    c->label = calloc(c->n + 1, sizeof *c->label);
    c->best = malloc((c->n + 1) * sizeof *c->best);
    c->cudnn = malloc((c->n + 1) * sizeof *c->cudnn);
    if (!c->spec || !c->label || !c->best || !c->cudnn)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const iob_record *r = &c->r[i];
        if (!is_cudnn(r) && r->status == IOB_REC_OK &&
            (pos(r->meas[IOB_LVL_TIME]) || pos(iob_levels_l2_total(r->meas))))
            c->any_meas = 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        const iob_record *r = &c->r[i];
        size_t li = 0;
        while (li < c->nlayers && strcmp(c->spec[li], r->layer_spec))
            li++;
        if (li == c->nlayers) {
            c->spec[li] = r->layer_spec;
            c->label[li] = r->layer[0] ? r->layer : r->layer_spec;
            c->best[li] = c->cudnn[li] = -1;
            c->nlayers++;
        }
        if (r->status != IOB_REC_OK)
            continue;
        if (is_cudnn(r)) {
            if (r->meas_state == IOB_STAGE_OK)
                c->cudnn[li] = (long)i;
            continue;
        }
        /* measured time when the file has measurements, else predicted time */
        int lvl = IOB_LVL_TIME;
        double t = c->any_meas ? r->meas[lvl] : r->pred[lvl];
        if (!pos(t))
            continue;
        long b = c->best[li];
        double bt = b < 0 ? INFINITY : (c->any_meas ? c->r[b].meas[lvl] : c->r[b].pred[lvl]);
        if (t < bt)
            c->best[li] = (long)i;
    }
    return IOB_OK;
}

/* ---- the figures ---------------------------------------------------------------------------- */

/* Each writer makes NAME.dat and NAME.params.gp; it returns IOB_OK with *skip set (and a note)
 * when the records lack its data. */
typedef iob_status (*writer_fn)(ctx *c, iob_plot_outcome *o, int *skip, int *w, int *h,
                                iob_error *err);

static iob_status write_pred_vs_meas(ctx *c, iob_plot_outcome *o, int *skip, int *w, int *h,
                                     iob_error *err)
{
    algo_names an = {0};
    char levels[256] = "", ranges[2048] = "";
    int nlev = 0, have_sim = 0;
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        char file[64];
        snprintf(file, sizeof file, "pred_vs_meas_%s.dat", iob_level_name((iob_level)l));
        FILE *fp = NULL;
        double lo = NAN, hi = NAN;
        size_t rows = 0;
        for (size_t i = 0; i < c->n; i++) {
            const iob_record *r = &c->r[i];
            if (is_cudnn(r) || r->status != IOB_REC_OK || !pos(r->meas[l]) ||
                (!pos(r->pred[l]) && !pos(r->sim[l])))
                continue;
            if (!fp) {
                fp = open_out(c, file, err);
                if (!fp)
                    return IOB_EIO;
                fprintf(fp, "# %s (%s): predicted measured simulated algorithm\n",
                        iob_level_label((iob_level)l), iob_level_unit((iob_level)l));
            }
            put_pos(fp, r->pred[l]);
            put_pos(fp, r->meas[l]);
            put_pos(fp, r->sim[l]);
            fprintf(fp, " %d\n", algo_number(&an, r->algo));
            have_sim |= pos(r->sim[l]);
            span(r->pred[l], &lo, &hi);
            span(r->meas[l], &lo, &hi);
            span(r->sim[l], &lo, &hi);
            rows++;
        }
        if (!fp)
            continue;
        iob_status st = close_out(fp, c, file, err);
        if (st)
            return st;
        double a, b;
        log_range(lo, hi, 1.5, 1, &a, &b);
        size_t rl = strlen(ranges);
        snprintf(ranges + rl, sizeof ranges - rl, "lo_%s = %.6g\nhi_%s = %.6g\n",
                 iob_level_name((iob_level)l), a, iob_level_name((iob_level)l), b);
        size_t ll = strlen(levels);
        snprintf(levels + ll, sizeof levels - ll, "%s%s", nlev ? " " : "",
                 iob_level_name((iob_level)l));
        nlev++;
    }
    if (!nlev) {
        *skip = 1;
        snprintf(o->note, sizeof o->note, "skipped: no record has both a prediction (or "
                 "simulation) and a measurement; measure on a GPU first");
        return IOB_OK;
    }
    FILE *fp = open_out(c, "pred_vs_meas.params.gp", err);
    if (!fp)
        return IOB_EIO;
    put_common_params(fp, c);
    fprintf(fp, "levels = \"%s\"\nhave_sim = %d\n%s", levels, have_sim, ranges);
    put_algos(fp, &an);
    int cols = nlev <= 3 ? nlev : nlev <= 4 ? 2 : nlev <= 6 ? 3 : 4;
    int rows = (nlev + cols - 1) / cols;
    *w = 520 * cols + 80;
    *h = 500 * rows + 60;
    return close_out(fp, c, "pred_vs_meas.params.gp", err);
}

static double l2_of(const iob_record *r, int measured)
{
    return iob_levels_l2_total(measured ? r->meas : r->pred);
}

static iob_status write_layers(ctx *c, iob_plot_outcome *o, int *skip, int *w, int *h,
                               iob_error *err)
{
    size_t rows = 0;
    double lo = NAN, hi = NAN, s_bytes = NAN;
    FILE *fp = NULL;
    for (size_t li = 0; li < c->nlayers; li++) {
        long b = c->best[li];
        if (b < 0)
            continue;
        const iob_record *r = &c->r[b];
        if (!fp) {
            fp = open_out(c, "layers.dat", err);
            if (!fp)
                return IOB_EIO;
            fputs("# layer, SM<->L2 bytes (read + write): bound, predicted, measured, cuDNN "
                  "measured\n", fp);
        }
        double cu = c->cudnn[li] >= 0 ? l2_of(&c->r[c->cudnn[li]], 1) : NAN;
        char label[IOB_NAME_MAX + 64];
        snprintf(label, sizeof label, "%s (%s)", c->label[li], r->algo);
        put_label(fp, label);
        put_pos(fp, r->bound_gpu_bytes);
        put_pos(fp, l2_of(r, 0));
        put_pos(fp, l2_of(r, 1));
        put_pos(fp, cu);
        fputc('\n', fp);
        span(r->bound_gpu_bytes, &lo, &hi);
        span(l2_of(r, 0), &lo, &hi);
        span(l2_of(r, 1), &lo, &hi);
        span(cu, &lo, &hi);
        if (isfinite(r->s_bytes))
            s_bytes = r->s_bytes;
        rows++;
    }
    if (!rows) {
        *skip = 1;
        snprintf(o->note, sizeof o->note, "skipped: no layer has a successful record of our "
                 "dataflows");
        return IOB_OK;
    }
    iob_status st = close_out(fp, c, "layers.dat", err);
    if (st)
        return st;
    if (!c->any_meas)
        snprintf(o->note, sizeof o->note, "no measurements in the file: bound and prediction "
                 "only");
    fp = open_out(c, "layers.params.gp", err);
    if (!fp)
        return IOB_EIO;
    double a, b;
    log_range(lo, hi, 1.1, 1, &a, &b);
    put_common_params(fp, c);
    fprintf(fp, "have_meas = %d\nylo = %.6g\nyhi = %.6g\ns_text = \"%.0f KiB\"\n"
            "best_text = \"%s\"\n", c->any_meas, a, b, s_bytes / 1024,
            c->any_meas ? "least measured time" : "least predicted time");
    *w = (int)(rows * 60 + 300 > 1200 ? rows * 60 + 300 : 1200);
    *h = 750;
    return close_out(fp, c, "layers.params.gp", err);
}

static iob_status write_roofline(ctx *c, iob_plot_outcome *o, int *skip, int *w, int *h,
                                 iob_error *err)
{
    algo_names an = {0};
    double xlo = NAN, xhi = NAN, ylo = NAN, yhi = NAN;
    size_t rows = 0;
    FILE *fp = NULL;
    /* kernels: our best measured config per (layer, algorithm), and cuDNN's record; groups of
     * a file are adjacent, so the search from the last group is short */
    long *grp = malloc((c->n + 1) * sizeof *grp);
    if (!grp)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    size_t ng = 0;
    for (size_t i = 0; i < c->n; i++) {
        const iob_record *r = &c->r[i];
        if (r->status != IOB_REC_OK || !pos(r->meas[IOB_LVL_TIME]) || !pos(r->flops))
            continue;
        size_t g = ng;
        while (g > 0 && (strcmp(c->r[grp[g - 1]].layer_spec, r->layer_spec) ||
                         strcmp(c->r[grp[g - 1]].algo, r->algo)))
            g--;
        if (g == 0)
            grp[ng++] = (long)i;
        else if (r->meas[IOB_LVL_TIME] < c->r[grp[g - 1]].meas[IOB_LVL_TIME])
            grp[g - 1] = (long)i;
    }
    for (size_t g = 0; g < ng; g++) {
        const iob_record *r = &c->r[grp[g]];
        if (!fp) {
            fp = open_out(c, "roofline.dat", err);
            if (!fp) {
                free(grp);
                return IOB_EIO;
            }
            fputs("# algorithm TFLOP/s FLOP/DRAM-byte FLOP/L2-byte FLOP/bound-byte\n", fp);
        }
        double tflops = r->flops / (r->meas[IOB_LVL_TIME] * 1e-3) / 1e12;
        double dram = r->meas[IOB_LVL_DRAM_READ] + r->meas[IOB_LVL_DRAM_WRITE];
        double i_dram = pos(dram) ? r->flops / dram : NAN;
        double l2 = l2_of(r, 1);
        double i_l2 = pos(l2) ? r->flops / l2 : NAN;
        double i_bound = pos(r->bound_gpu_bytes) ? r->flops / r->bound_gpu_bytes : NAN;
        fprintf(fp, "%d", algo_number(&an, r->algo));
        put_pos(fp, tflops);
        put_pos(fp, i_dram);
        put_pos(fp, i_l2);
        put_pos(fp, i_bound);
        fputc('\n', fp);
        span(i_dram, &xlo, &xhi);
        span(i_l2, &xlo, &xhi);
        span(i_bound, &xlo, &xhi);
        span(tflops, &ylo, &yhi);
        rows++;
    }
    free(grp);
    if (!rows) {
        *skip = 1;
        snprintf(o->note, sizeof o->note, "skipped: needs measured times (no record has one); "
                 "measure on a GPU first");
        return IOB_OK;
    }
    iob_status st = close_out(fp, c, "roofline.dat", err);
    if (st)
        return st;
    double peak = iob_machine_fp32_rate(&c->m) / 1e12, bw = iob_machine_dram_bw(&c->m) / 1e12;
    span(peak, &ylo, &yhi);
    span(peak / bw, &xlo, &xhi); /* the ridge point */
    double a, b, ya, yb;
    log_range(xlo, xhi, 2, 0, &a, &b);
    log_range(ylo, yhi, 1.6, 0, &ya, &yb);
    int measured = c->m.fp32_measured > 0 && c->m.dram_bw_measured > 0;
    fp = open_out(c, "roofline.params.gp", err);
    if (!fp)
        return IOB_EIO;
    put_common_params(fp, c);
    fprintf(fp, "peak = %.6g\nbw = %.6g\nceil_src = \"%s\"\nxlo = %.6g\nxhi = %.6g\n"
            "ylo = %.6g\nyhi = %.6g\n", peak, bw,
            measured ? "measured ceilings" : "datasheet ceilings: not measured on this machine",
            a, b, ya, yb);
    put_algos(fp, &an);
    if (c->machine_fallback)
        snprintf(o->note, sizeof o->note, "the records' machine is not a preset: ceilings of "
                 "%s", c->m.name);
    *w = 1300;
    *h = 800;
    return close_out(fp, c, "roofline.params.gp", err);
}

static iob_status write_speedup(ctx *c, iob_plot_outcome *o, int *skip, int *w, int *h,
                                iob_error *err)
{
    size_t rows = 0;
    int have_tf32 = 0;
    double ymax = 1;
    FILE *fp = NULL;
    for (size_t li = 0; li < c->nlayers; li++) {
        long b = c->best[li];
        if (b < 0 || !c->any_meas)
            continue;
        const iob_record *r = &c->r[b];
        double ours = r->meas[IOB_LVL_TIME];
        /* cuDNN's times: the layer's cuDNN record, else the columns of our record */
        const iob_record *cu = c->cudnn[li] >= 0 ? &c->r[c->cudnn[li]] : r;
        double fp32 = cu->cudnn_fp32_ms, tf32 = cu->cudnn_tf32_ms;
        if (!pos(ours) || !pos(fp32))
            continue;
        if (!fp) {
            fp = open_out(c, "speedup.dat", err);
            if (!fp)
                return IOB_EIO;
            fputs("# layer, cuDNN best FP32 time / our best time, cuDNN best TF32 time / ours\n",
                  fp);
        }
        char label[IOB_NAME_MAX + 64];
        snprintf(label, sizeof label, "%s (%s)", c->label[li], r->algo);
        put_label(fp, label);
        put_pos(fp, fp32 / ours);
        put_pos(fp, pos(tf32) ? tf32 / ours : NAN);
        fputc('\n', fp);
        have_tf32 |= pos(tf32);
        if (fp32 / ours > ymax)
            ymax = fp32 / ours;
        if (pos(tf32) && tf32 / ours > ymax)
            ymax = tf32 / ours;
        rows++;
    }
    if (!rows) {
        *skip = 1;
        snprintf(o->note, sizeof o->note, "skipped: needs our measured times and cuDNN's (no "
                 "layer has both); measure on a GPU first");
        return IOB_OK;
    }
    iob_status st = close_out(fp, c, "speedup.dat", err);
    if (st)
        return st;
    fp = open_out(c, "speedup.params.gp", err);
    if (!fp)
        return IOB_EIO;
    put_common_params(fp, c);
    fprintf(fp, "have_tf32 = %d\nymax = %.6g\n", have_tf32, ymax * 1.15);
    *w = (int)(rows * 50 + 300 > 1100 ? rows * 50 + 300 : 1100);
    *h = 700;
    return close_out(fp, c, "speedup.params.gp", err);
}

/* ---- driving gnuplot ------------------------------------------------------------------------ */

/* First line of gnuplot's log that reads like an error, for the one-line message. */
static void first_error(const char *log, char *out, size_t size)
{
    snprintf(out, size, "see %.300s", log);
    FILE *fp = fopen(log, "r");
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "rror") || strstr(line, "undefined") || strstr(line, "line ")) {
            snprintf(out, size, "%.300s", line);
            break;
        }
    }
    fclose(fp);
}

static int nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* Copies the script, then draws it as PNG and SVG. */
static iob_status draw(const ctx *c, iob_plot_outcome *o, int w, int h, iob_error *err)
{
    char gp_name[64], gp[IOB_PLOT_PATH_MAX], params[IOB_PLOT_PATH_MAX], log[IOB_PLOT_PATH_MAX];
    snprintf(gp_name, sizeof gp_name, "%s.gp", o->name);
    const iob_plot_script *sc = script(gp_name);
    if (!sc)
        return iob_error_set(err, IOB_EIO, "the script %s is not embedded in this build",
                             gp_name);
    FILE *fp = open_out(c, gp_name, err);
    if (!fp)
        return IOB_EIO;
    fwrite(sc->source, 1, sc->size, fp);
    iob_status st = close_out(fp, c, gp_name, err);
    if (st)
        return st;
    path_of(c, gp_name, gp, sizeof gp);
    snprintf(gp_name, sizeof gp_name, "%s.params.gp", o->name);
    path_of(c, gp_name, params, sizeof params);
    snprintf(gp_name, sizeof gp_name, "%s.log", o->name);
    path_of(c, gp_name, log, sizeof log);
    unlink(log);
    snprintf(gp_name, sizeof gp_name, "%s.png", o->name);
    path_of(c, gp_name, o->png, sizeof o->png);
    snprintf(gp_name, sizeof gp_name, "%s.svg", o->name);
    path_of(c, gp_name, o->svg, sizeof o->svg);
    for (int svg = 0; svg <= 1; svg++) {
        const char *out = svg ? o->svg : o->png;
        char term[IOB_PLOT_PATH_MAX + 256];
        if (svg)
            snprintf(term, sizeof term, "set terminal svg size %d,%d dynamic enhanced font "
                     "'Sans,12' background rgb 'white'; set output '%s'", w, h, out);
        else if (!strcmp(c->png_term, "pngcairo"))
            snprintf(term, sizeof term, "set terminal pngcairo size %d,%d enhanced font "
                     "'Sans,11' background rgb 'white'; set output '%s'", w, h, out);
        else
            snprintf(term, sizeof term, "set terminal png size %d,%d enhanced background "
                     "rgb 'white'; set output '%s'", w, h, out);
        unlink(out);
        char *argv[] = {(char *)c->gnuplot, "-e", term, params, gp, NULL};
        int rc = run(argv, log);
        if (rc != 0 || !nonempty(out)) {
            char why[400];
            first_error(log, why, sizeof why);
            return iob_error_set(err, IOB_EIO, "gnuplot failed on %s (%s): %s", o->name,
                                 svg ? "svg" : "png", why);
        }
    }
    o->made = 1;
    return IOB_OK;
}

iob_status iob_plot_make(const iob_record *r, size_t n, const iob_plot_opts *opts,
                         iob_plot_report *rep, iob_error *err)
{
    static const char *const names[IOB_PLOT_COUNT] = {"pred_vs_meas", "layers", "roofline",
                                                      "speedup"};
    static const writer_fn writers[IOB_PLOT_COUNT] = {write_pred_vs_meas, write_layers,
                                                      write_roofline, write_speedup};
    memset(rep, 0, sizeof *rep);
    rep->count = IOB_PLOT_COUNT;
    for (int i = 0; i < IOB_PLOT_COUNT; i++)
        snprintf(rep->plot[i].name, sizeof rep->plot[i].name, "%s", names[i]);
    if (!opts->out_dir || !*opts->out_dir)
        return iob_error_set(err, IOB_EINVAL, "no output folder");
    if (strpbrk(opts->out_dir, "'\"\n\r"))
        return iob_error_set(err, IOB_EINVAL, "output folder '%s': gnuplot cannot take a name "
                             "with quotes or newlines", opts->out_dir);
    ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.n = n;
    c.dir = opts->out_dir;
    /* the machine of the roofline */
    const char *mname = opts->machine;
    iob_error merr;
    if (mname) {
        if (iob_machine_get(mname, &c.m, err))
            return err ? err->code : IOB_EINVAL;
    } else {
        mname = n && r[0].machine[0] ? r[0].machine : "h100-sxm";
        if (iob_machine_get(mname, &c.m, &merr)) {
            iob_machine_get("h100-sxm", &c.m, NULL);
            c.machine_fallback = 1;
        }
    }
    snprintf(rep->machine, sizeof rep->machine, "%s", c.m.name);
    /* gnuplot */
    const char *prog = opts->gnuplot ? opts->gnuplot : getenv("IOB_GNUPLOT");
    if (!prog || !*prog)
        prog = "gnuplot";
    if (find_program(prog, c.gnuplot, sizeof c.gnuplot))
        return iob_error_set(err, IOB_ENOTSUP, "gnuplot not found ('%s' is not an executable "
                             "in PATH): install gnuplot (Debian: apt-get install gnuplot-nox) "
                             "or set IOB_GNUPLOT", prog);
    {
        char *argv[] = {c.gnuplot, "-e", "set terminal pngcairo", NULL};
        snprintf(c.png_term, sizeof c.png_term, "%s", run(argv, NULL) == 0 ? "pngcairo" : "png");
        snprintf(rep->png_terminal, sizeof rep->png_terminal, "%s", c.png_term);
    }
    if (mkdir(opts->out_dir, 0755) && errno != EEXIST)
        return iob_error_set(err, IOB_EIO, "%s: %s", opts->out_dir, strerror(errno));
    struct stat sb;
    if (stat(opts->out_dir, &sb) || !S_ISDIR(sb.st_mode))
        return iob_error_set(err, IOB_EIO, "%s: not a folder", opts->out_dir);
    iob_status st = index_layers(&c, err);
    iob_status first_fail = IOB_OK;
    iob_error fail_err = {0};
    for (int i = 0; i < IOB_PLOT_COUNT && !st; i++) {
        iob_plot_outcome *o = &rep->plot[i];
        int skip = 0, w = 1200, h = 800;
        iob_error e = {0};
        iob_status ps = writers[i](&c, o, &skip, &w, &h, &e);
        if (!ps && !skip)
            ps = draw(&c, o, w, h, &e);
        if (ps) {
            snprintf(o->note, sizeof o->note, "failed: %.240s", e.msg);
            if (!first_fail) {
                first_fail = ps;
                fail_err = e;
            }
        }
    }
    free(c.spec);
    free(c.label);
    free(c.best);
    free(c.cudnn);
    if (st)
        return st;
    if (first_fail) {
        if (err)
            *err = fail_err;
        return first_fail;
    }
    return IOB_OK;
}
