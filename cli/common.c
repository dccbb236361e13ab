/* common.c - shared option handling, output helpers and error reporting of the CLI. */
#include "cli/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/gpu.h"
#include "iobound/nets.h"

const char iob_cli_common_help[] =
    "Layers (one of; default: see the command):\n"
    "  --layer SPEC       one layer, e.g. n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1\n"
    "                     (grammar: docs/cli.md); may be repeated\n"
    "  --layers FILE      layers from a CSV or JSON file ('-' reads standard input)\n"
    "  --net NAME         a built-in network (iobound nets lists them)\n"
    "  --batch N          batch size applied to every layer (default: as given; nets: 1)\n"
    "Output:\n"
    "  --format FMT       table (default), csv or json\n"
    "  -o, --output FILE  write to FILE instead of standard output\n"
    "  -h, --help         this help\n";

const char iob_cli_machine_help[] =
    "Machine:\n"
    "  --machine NAME     h100-sxm (default), h200, a100-sxm, v100, or device (the present GPU)\n"
    "  --smem BYTES       override shared memory per SM (e.g. 100K); S = smem + registers\n"
    "  --l2 BYTES         override the L2 size (e.g. 40M)\n"
    "  --fast-mem BYTES   set S, the fast memory of one SM used by the bounds, outright\n";

void iob_cli_init(iob_cli *cli, const char *prog)
{
    memset(cli, 0, sizeof *cli);
    cli->prog = prog;
    cli->out = stdout;
}

int iob_cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    va_end(ap);
    return IOB_EXIT_USAGE;
}

int iob_cli_fail(const iob_cli *cli, const iob_error *err)
{
    fprintf(stderr, "%s: %s\n", cli ? cli->prog : "iobound", err->msg[0] ? err->msg :
            iob_status_name(err->code));
    return iob_status_exit_code(err->code);
}

static int parse_count(const char *prog, const char *opt, const char *arg, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > IOB_DIM_MAX)
        return iob_cli_usage_error(prog, "%s %s: expected a whole number from 1 to %lld", opt,
                                   arg, (long long)IOB_DIM_MAX);
    *out = v;
    return 0;
}

int iob_cli_common_option(iob_cli *cli, int opt, const char *arg)
{
    iob_error err;
    switch (opt) {
    case IOB_OPT_LAYER: {
        iob_layer L;
        if (iob_layer_parse(arg, &L, &err) || iob_layer_list_push(&cli->layers, &L, &err))
            return iob_cli_fail(cli, &err);
        cli->have_layers = 1;
        return 0;
    }
    case IOB_OPT_LAYERS: {
        iob_status st = strcmp(arg, "-") == 0
                            ? iob_layers_read_stream(stdin, "<stdin>", &cli->layers, &err)
                            : iob_layers_read_file(arg, &cli->layers, &err);
        if (st)
            return iob_cli_fail(cli, &err);
        /* report file warnings once, without flooding the terminal */
        for (size_t i = cli->warned; i < cli->layers.nwarnings; i++) {
            if (i - cli->warned < 5 || cli->layers.nwarnings - cli->warned <= 6)
                fprintf(stderr, "%s: warning: %s\n", cli->prog, cli->layers.warnings[i]);
            else {
                fprintf(stderr, "%s: warning: ... and %zu more rows like these\n", cli->prog,
                        cli->layers.nwarnings - i);
                break;
            }
        }
        cli->warned = cli->layers.nwarnings;
        cli->have_layers = 1;
        return 0;
    }
    case IOB_OPT_NET:
        cli->net = arg;
        return 0;
    case IOB_OPT_BATCH:
        return parse_count(cli->prog, "--batch", arg, &cli->batch);
    case IOB_OPT_MACHINE:
        cli->machine_name = arg;
        return 0;
    case IOB_OPT_SMEM:
    case IOB_OPT_L2:
    case IOB_OPT_FAST: {
        int64_t v;
        if (iob_parse_bytes(arg, &v, &err))
            return iob_cli_fail(cli, &err);
        if (opt == IOB_OPT_SMEM)
            cli->smem_override = v;
        else if (opt == IOB_OPT_L2)
            cli->l2_override = v;
        else
            cli->fast_override = v;
        return 0;
    }
    case IOB_OPT_FORMAT:
        if (!strcmp(arg, "table"))
            cli->format = IOB_FMT_TABLE;
        else if (!strcmp(arg, "csv"))
            cli->format = IOB_FMT_CSV;
        else if (!strcmp(arg, "json"))
            cli->format = IOB_FMT_JSON;
        else
            return iob_cli_usage_error(cli->prog, "--format %s: expected table, csv or json", arg);
        return 0;
    case 'o':
    case IOB_OPT_OUTPUT:
        cli->out_path = arg;
        return 0;
    default:
        return -1;
    }
}

int iob_cli_finish(iob_cli *cli, const char *default_net)
{
    iob_error err;
    if (cli->net && cli->have_layers)
        return iob_cli_usage_error(cli->prog, "give either --net or --layer/--layers, not both");
    const char *net = cli->net;
    if (!net && !cli->have_layers)
        net = default_net;
    if (net) {
        if (iob_net_layers(net, cli->batch ? cli->batch : 1, &cli->layers, &err))
            return iob_cli_fail(cli, &err);
        cli->have_layers = 1;
    } else if (cli->batch) {
        for (size_t i = 0; i < cli->layers.count; i++) {
            cli->layers.items[i].n = cli->batch;
            iob_layer_counts c;
            if (iob_layer_counts_get(&cli->layers.items[i], &c, &err))
                return iob_cli_fail(cli, &err);
        }
    }
    const char *mname = cli->machine_name ? cli->machine_name : "h100-sxm";
    if (!strcmp(mname, "device")) {
        if (iob_machine_query_device(&cli->machine, &err))
            return iob_cli_fail(cli, &err);
    } else if (iob_machine_get(mname, &cli->machine, &err)) {
        return iob_cli_fail(cli, &err);
    }
    if (cli->smem_override) {
        cli->machine.smem_per_sm = cli->smem_override;
        if (cli->machine.smem_per_block > cli->smem_override)
            cli->machine.smem_per_block = cli->smem_override;
    }
    if (cli->l2_override)
        cli->machine.l2_bytes = cli->l2_override;
    if (cli->fast_override)
        cli->machine.fast_bytes_override = cli->fast_override;
    cli->machine_set = 1;
    if (cli->out_path && strcmp(cli->out_path, "-")) {
        cli->out = fopen(cli->out_path, "w");
        if (!cli->out) {
            fprintf(stderr, "%s: %s: %s\n", cli->prog, cli->out_path, strerror(errno));
            cli->out = stdout;
            return IOB_EXIT_RUNTIME;
        }
    }
    return 0;
}

void iob_cli_free(iob_cli *cli)
{
    iob_layer_list_free(&cli->layers);
    if (cli->out && cli->out != stdout) {
        if (fclose(cli->out))
            fprintf(stderr, "%s: %s: %s\n", cli->prog, cli->out_path, strerror(errno));
    }
    cli->out = NULL;
}

int iob_cli_parse_algos(const char *prog, const char *arg, iob_algo_set *set)
{
    memset(set, 0, sizeof *set);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "all")) {
            for (int i = 0; i < IOB_ALGO_COUNT; i++)
                set->on[i] = 1;
            continue;
        }
        iob_algo a;
        iob_error err;
        if (iob_algo_parse(tok, &a, &err))
            return iob_cli_usage_error(prog, "--algo: %s", err.msg);
        set->on[a] = 1;
    }
    return 0;
}

cJSON *iob_cli_machine_json(const iob_machine *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->name);
    cJSON_AddStringToObject(o, "description", m->description);
    cJSON_AddNumberToObject(o, "sm_count", m->sm_count);
    cJSON_AddNumberToObject(o, "smem_per_sm", (double)m->smem_per_sm);
    cJSON_AddNumberToObject(o, "smem_per_block", (double)m->smem_per_block);
    cJSON_AddNumberToObject(o, "regs_per_sm", (double)m->regs_per_sm);
    cJSON_AddNumberToObject(o, "l1_smem_bytes", (double)m->l1_smem_bytes);
    cJSON_AddNumberToObject(o, "l2_bytes", (double)m->l2_bytes);
    cJSON_AddNumberToObject(o, "l2_partitions", m->l2_partitions);
    cJSON_AddNumberToObject(o, "l2_shared_bytes", (double)iob_machine_l2_shared_bytes(m));
    cJSON_AddNumberToObject(o, "fast_mem_bytes", (double)iob_machine_fast_bytes(m));
    cJSON_AddNumberToObject(o, "dram_bw", iob_machine_dram_bw(m));
    cJSON_AddNumberToObject(o, "fp32_rate", iob_machine_fp32_rate(m));
    return o;
}

cJSON *iob_cli_layer_json(const iob_layer *L)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", L->name);
#define F(key, v) cJSON_AddNumberToObject(o, key, (double)(v))
    F("n", L->n); F("c", L->c); F("h", L->h); F("w", L->w); F("k", L->k); F("r", L->r);
    F("s", L->s); F("stride_h", L->stride_h); F("stride_w", L->stride_w);
    F("pad_h", L->pad_top); F("pad_w", L->pad_left);
    F("pad_top", L->pad_top); F("pad_bottom", L->pad_bottom);
    F("pad_left", L->pad_left); F("pad_right", L->pad_right);
    F("dil_h", L->dil_h); F("dil_w", L->dil_w); F("groups", L->groups);
    F("p", L->p); F("q", L->q);
#undef F
    return o;
}

int iob_cli_write_json(iob_cli *cli, cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text) {
        fprintf(stderr, "%s: out of memory formatting JSON\n", cli->prog);
        return IOB_EXIT_RUNTIME;
    }
    fputs(text, cli->out);
    fputc('\n', cli->out);
    free(text);
    if (ferror(cli->out)) {
        fprintf(stderr, "%s: write error\n", cli->prog);
        return IOB_EXIT_RUNTIME;
    }
    return 0;
}

void iob_table_init(iob_table *t, int ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->right = calloc((size_t)ncols, sizeof *t->right);
}

void iob_table_free(iob_table *t)
{
    for (int i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    memset(t, 0, sizeof *t);
}

void iob_table_row(iob_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        char **nc = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *nc);
        if (!nc)
            abort(); /* the CLI cannot continue without memory for its output */
        t->cells = nc;
        t->cap = cap;
    }
    for (int c = 0; c < t->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        char *d = strdup(s);
        if (!d)
            abort();
        t->cells[t->rows * t->ncols + c] = d;
    }
    t->rows++;
}

void iob_table_rowf(iob_table *t, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *cells[64] = {0};
    char *p = line;
    for (int c = 0; c < t->ncols && c < 64; c++) {
        cells[c] = p;
        char *tab = p ? strchr(p, '\t') : NULL;
        if (tab) {
            *tab = '\0';
            p = tab + 1;
        } else {
            p = NULL;
        }
    }
    iob_table_row(t, cells);
}

static void csv_cell(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
}

void iob_table_print(const iob_table *t, FILE *out, iob_format fmt)
{
    if (fmt == IOB_FMT_CSV) {
        for (int r = 0; r < t->rows; r++)
            for (int c = 0; c < t->ncols; c++) {
                csv_cell(out, t->cells[r * t->ncols + c]);
                fputc(c + 1 == t->ncols ? '\n' : ',', out);
            }
        return;
    }
    size_t width[64] = {0};
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->ncols && c < 64; c++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > width[c])
                width[c] = n;
        }
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            int w = (int)width[c];
            if (c + 1 == t->ncols && !t->right[c])
                fprintf(out, "%s", s);
            else
                fprintf(out, t->right[c] ? "%*s" : "%-*s", w, s);
            fputs(c + 1 == t->ncols ? "\n" : "  ", out);
        }
        if (r == 0) { /* rule under the header */
            for (int c = 0; c < t->ncols; c++) {
                for (size_t i = 0; i < width[c]; i++)
                    fputc('-', out);
                fputs(c + 1 == t->ncols ? "\n" : "  ", out);
            }
        }
    }
}

const char *iob_fmt_bytes(double bytes, char *buf, size_t size)
{
    static const char *unit[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    int u = 0;
    double v = bytes;
    while (v >= 1000 && u < 6) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f B", v);
    else
        snprintf(buf, size, "%.3g %s", v, unit[u]);
    return buf;
}

const char *iob_fmt_count(double n, char *buf, size_t size)
{
    static const char *unit[] = {"", "K", "M", "G", "T", "P", "E"};
    int u = 0;
    double v = n;
    while (v >= 1000 && u < 6) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3g %s", v, unit[u]);
    return buf;
}
