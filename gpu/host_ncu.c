/* host_ncu.c - the Nsight Compute fallback of the counters: the ncu command line, running it, and
 * a parser of its CSV output (pure C; no GPU needed, tested on committed samples in tests/data).
 *
 * Formats read (Nsight Compute CLI documentation, "--csv", "--page"):
 *  - raw page (`--page raw --csv`): a header row ("ID","Process ID",...,"Kernel Name",...,
 *    metric names), a second row of units ("" for the descriptive columns, "byte", "Mbyte",
 *    "nsecond", "usecond", "sector", "inst", ...), then one row per profiled launch.
 *  - details page (`--csv` alone): one row per (launch, metric) with the columns "Metric Name",
 *    "Metric Unit" and "Metric Value"; rows are grouped by "ID".
 * Values are quoted and may carry thousands separators ("1,234,567"); "n/a" or an empty value is
 * a missing metric (NAN). Lines that start with "==" (==PROF==, ==WARNING==) are ncu's own messages
 * and are skipped. Units: byte prefixes K/M/G/T/P are powers of 1000 (ncu's SI units), KiB/MiB/...
 * powers of 1024; time prefixes n/u/m; a count may carry a K/M/G prefix; a file without a units
 * row is read in base units (bytes, counts, nanoseconds).
 */
#include "gpu/host_ncu.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu/host_counters.h"

extern char **environ;

/* ---- CSV records ------------------------------------------------------------------------- */

typedef struct csv_row {
    char **f;
    int n, cap;
    int line; /* line number of the record's start (1-based) */
} csv_row;

static void row_clear(csv_row *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static void row_free(csv_row *r)
{
    row_clear(r);
    free(r->f);
    memset(r, 0, sizeof *r);
}

static int row_push(csv_row *r, const char *s, size_t len)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 32;
        char **nf = realloc(r->f, (size_t)cap * sizeof *nf);
        if (!nf)
            return -1;
        r->f = nf;
        r->cap = cap;
    }
    char *d = malloc(len + 1);
    if (!d)
        return -1;
    memcpy(d, s, len);
    d[len] = '\0';
    r->f[r->n++] = d;
    return 0;
}

/* Reads the next record at *pos (RFC 4180: quoted fields may hold commas, quotes doubled, and
 * newlines). Skips blank lines and lines starting with "==". Returns 1 for a record, 0 at the
 * end, -1 on a malformed record or no memory (*why says which). */
static int next_record(const char *text, size_t *pos, int *line, csv_row *row, const char **why)
{
    row_clear(row);
    size_t i = *pos;
    for (;;) {
        if (!text[i])
            return 0;
        if (text[i] == '\n' || (text[i] == '\r' && text[i + 1] == '\n')) {
            i += text[i] == '\r' ? 2 : 1;
            (*line)++;
            continue;
        }
        if (text[i] == '=' && text[i + 1] == '=') {
            while (text[i] && text[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    row->line = *line;
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    for (;;) {
        blen = 0;
        int quoted = 0;
        if (text[i] == '"') {
            quoted = 1;
            i++;
        }
        for (;;) {
            char c = text[i];
            if (!c) {
                if (quoted) {
                    free(buf);
                    *why = "unterminated quoted value";
                    return -1;
                }
                break;
            }
            if (quoted) {
                if (c == '"') {
                    if (text[i + 1] == '"') {
                        i++;
                    } else {
                        i++;
                        quoted = 0;
                        continue;
                    }
                } else if (c == '\n') {
                    (*line)++;
                }
            } else if (c == ',' || c == '\n' || (c == '\r' && text[i + 1] == '\n')) {
                break;
            }
            if (blen + 1 >= bcap) {
                bcap = bcap ? 2 * bcap : 64;
                char *nb = realloc(buf, bcap);
                if (!nb) {
                    free(buf);
                    *why = "out of memory";
                    return -1;
                }
                buf = nb;
            }
            buf[blen++] = c;
            i++;
        }
        if (row_push(row, buf ? buf : "", blen)) {
            free(buf);
            *why = "out of memory";
            return -1;
        }
        if (text[i] == ',') {
            i++;
            continue;
        }
        if (text[i] == '\r')
            i++;
        if (text[i] == '\n') {
            i++;
            (*line)++;
        }
        break;
    }
    free(buf);
    *pos = i;
    return 1;
}

/* ---- values and units -------------------------------------------------------------------- */

static int is_missing(const char *s)
{
    while (*s == ' ')
        s++;
    return !*s || !strcmp(s, "n/a") || !strcmp(s, "N/A") || !strcmp(s, "-");
}

/* "1,234,567.5" -> 1234567.5; returns 0, or -1 when s is not a number. */
static int parse_value(const char *s, double *v)
{
    char clean[128];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ',' || *s == ' ')
            continue;
        if (n + 1 >= sizeof clean)
            return -1;
        clean[n++] = *s;
    }
    clean[n] = '\0';
    if (!n)
        return -1;
    char *end;
    errno = 0;
    *v = strtod(clean, &end);
    if (*end || errno == ERANGE)
        return -1;
    return 0;
}

static double si_prefix(char c)
{
    switch (c) {
    case 'K': case 'k': return 1e3;
    case 'M': return 1e6;
    case 'G': return 1e9;
    case 'T': return 1e12;
    case 'P': return 1e15;
    default: return 0;
    }
}

/* Scale that converts a value in `unit` to the metric's storage unit; -1 if the unit does not
 * fit the metric's kind. */
static int unit_scale(const char *unit, iob_metric_kind kind, double *scale)
{
    static const struct { const char *u; double s; } bytes[] = {
        {"byte", 1}, {"B", 1}, {"bytes", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0},
        {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
        {"TB", 1e12},
    };
    static const struct { const char *u; double s; } times[] = {
        {"nsecond", 1}, {"usecond", 1e3}, {"msecond", 1e6}, {"second", 1e9}, {"ns", 1},
        {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
    };
    static const char *const counts[] = {"sector", "inst", "request", "cycle", "warp", "thread",
                                         "instruction", "count", "sectors", "instructions"};
    *scale = 1;
    if (!*unit)
        return 0; /* no units row: base units (bytes, counts, nanoseconds) */
    if (kind == IOB_METRIC_BYTES) {
        for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++)
            if (!strcmp(unit, bytes[i].u)) {
                *scale = bytes[i].s;
                return 0;
            }
        if (strlen(unit) == 5 && !strcmp(unit + 1, "byte") && si_prefix(unit[0]) > 0) {
            *scale = si_prefix(unit[0]);
            return 0;
        }
        return -1;
    }
    if (kind == IOB_METRIC_TIME_NS) {
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
            if (!strcmp(unit, times[i].u)) {
                *scale = times[i].s;
                return 0;
            }
        return -1;
    }
    for (int pre = 0; pre < 2; pre++) {
        const char *base = unit + pre;
        double s = pre ? si_prefix(unit[0]) : 1;
        if (pre && (s == 0 || !unit[1]))
            continue;
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
            if (!strcmp(base, counts[i])) {
                *scale = s;
                return 0;
            }
    }
    return -1;
}

static int metric_index(const char *name)
{
    for (int i = 0; i < IOB_NMETRICS; i++)
        if (!strcmp(name, iob_metrics[i].name))
            return i;
    return -1;
}

static int find_col(const csv_row *h, const char *const *names)
{
    for (const char *const *nm = names; *nm; nm++)
        for (int i = 0; i < h->n; i++)
            if (!strcmp(h->f[i], *nm))
                return i;
    return -1;
}

static const char *const name_cols[] = {"Kernel Name", "Function Name", "Demangled Name",
                                        "Mangled Name", NULL};
static const char *const id_cols[] = {"ID", NULL};

static void counters_missing(iob_counters *c)
{
    memset(c, 0, sizeof *c);
    for (int m = 0; m < IOB_NMETRICS; m++)
        *iob_counters_at(c, m) = NAN;
}

/* Sets metric m of c from a value and its unit; IOB_EINVAL naming the line on a bad one. */
static iob_status set_metric(iob_counters *c, int m, const char *value, const char *unit,
                             const char *label, int line, iob_error *err)
{
    if (is_missing(value))
        return IOB_OK;
    double v, scale;
    if (parse_value(value, &v))
        return iob_error_set(err, IOB_EINVAL, "%s: line %d: %s = '%s' is not a number", label,
                             line, iob_metrics[m].name, value);
    if (unit_scale(unit, iob_metrics[m].kind, &scale))
        return iob_error_set(err, IOB_EINVAL, "%s: line %d: unknown unit '%s' for %s", label,
                             line, unit, iob_metrics[m].name);
    *iob_counters_at(c, m) = v * scale;
    return IOB_OK;
}

static void set_name(iob_counters *c, const char *name)
{
    snprintf(c->kernel, sizeof c->kernel, "%s", name);
}

/* The raw page: metric columns, a units row, one row per launch. */
static iob_status parse_raw(const char *text, size_t pos, int line, const csv_row *hdr,
                            const char *label, iob_counters *out, int max, int *count,
                            iob_error *err)
{
    int col[IOB_NMETRICS], any = 0;
    for (int m = 0; m < IOB_NMETRICS; m++) {
        col[m] = -1;
        for (int i = 0; i < hdr->n; i++)
            if (metric_index(hdr->f[i]) == m)
                col[m] = i;
        any |= col[m] >= 0;
    }
    if (!any)
        return iob_error_set(err, IOB_EINVAL, "%s: no column of a counter metric (expected e.g. "
                             "%s; record with ncu --metrics ...)", label, iob_metrics[0].name);
    int idc = find_col(hdr, id_cols), namec = find_col(hdr, name_cols);
    csv_row row = {0}, units = {0};
    const char *why = NULL;
    iob_status st = IOB_OK;
    int n = 0, have_units = 0, r;
    while ((r = next_record(text, &pos, &line, &row, &why)) == 1) {
        if (row.n != hdr->n) {
            st = iob_error_set(err, IOB_EINVAL, "%s: line %d: %d values, the header has %d",
                               label, row.line, row.n, hdr->n);
            break;
        }
        if (!have_units && (idc < 0 || !*row.f[idc])) {
            /* the units row: copy it */
            for (int i = 0; i < row.n && !st; i++)
                if (row_push(&units, row.f[i], strlen(row.f[i])))
                    st = iob_error_set(err, IOB_ENOMEM, "%s: out of memory", label);
            have_units = 1;
            continue;
        }
        if (n < max) {
            iob_counters *c = &out[n];
            counters_missing(c);
            set_name(c, namec >= 0 ? row.f[namec] : "");
            for (int m = 0; m < IOB_NMETRICS && !st; m++)
                if (col[m] >= 0)
                    st = set_metric(c, m, row.f[col[m]], have_units ? units.f[col[m]] : "",
                                    label, row.line, err);
            if (st)
                break;
        }
        n++;
    }
    if (r < 0 && !st)
        st = iob_error_set(err, IOB_EINVAL, "%s: line %d: %s", label, line, why);
    row_free(&row);
    row_free(&units);
    *count = n;
    return st;
}

/* The details page: one row per (launch, metric). */
static iob_status parse_details(const char *text, size_t pos, int line, const csv_row *hdr,
                                const char *label, iob_counters *out, int max, int *count,
                                iob_error *err)
{
    static const char *const mn[] = {"Metric Name", NULL}, *const mu[] = {"Metric Unit", NULL},
                             *const mv[] = {"Metric Value", NULL};
    int idc = find_col(hdr, id_cols), namec = find_col(hdr, name_cols);
    int nc = find_col(hdr, mn), uc = find_col(hdr, mu), vc = find_col(hdr, mv);
    csv_row row = {0};
    const char *why = NULL;
    iob_status st = IOB_OK;
    int n = 0, r, any = 0;
    char last_id[64] = "";
    while ((r = next_record(text, &pos, &line, &row, &why)) == 1) {
        if (row.n != hdr->n) {
            st = iob_error_set(err, IOB_EINVAL, "%s: line %d: %d values, the header has %d",
                               label, row.line, row.n, hdr->n);
            break;
        }
        if (idc >= 0 && strcmp(row.f[idc], last_id)) {
            snprintf(last_id, sizeof last_id, "%s", row.f[idc]);
            if (n < max) {
                counters_missing(&out[n]);
                set_name(&out[n], namec >= 0 ? row.f[namec] : "");
            }
            n++;
        }
        int m = metric_index(row.f[nc]);
        if (m < 0 || n == 0)
            continue;
        any = 1;
        if (n <= max && (st = set_metric(&out[n - 1], m, row.f[vc], uc >= 0 ? row.f[uc] : "",
                                         label, row.line, err)))
            break;
    }
    if (r < 0 && !st)
        st = iob_error_set(err, IOB_EINVAL, "%s: line %d: %s", label, line, why);
    if (!st && !any)
        st = iob_error_set(err, IOB_EINVAL, "%s: no row of a counter metric (expected e.g. %s)",
                           label, iob_metrics[0].name);
    row_free(&row);
    *count = n;
    return st;
}

iob_status iob_ncu_parse_text(const char *text, const char *label, iob_counters *out, int max,
                              int *count, iob_error *err)
{
    *count = 0;
    size_t pos = 0;
    int line = 1, r;
    csv_row hdr = {0};
    const char *why = NULL;
    /* the header is the first record whose first field is "ID" */
    while ((r = next_record(text, &pos, &line, &hdr, &why)) == 1)
        if (hdr.n > 1 && !strcmp(hdr.f[0], "ID"))
            break;
    iob_status st;
    if (r < 0)
        st = iob_error_set(err, IOB_EINVAL, "%s: line %d: %s", label, line, why);
    else if (r == 0)
        st = iob_error_set(err, IOB_EINVAL, "%s: no Nsight Compute CSV header (a row starting "
                           "with \"ID\"); record with ncu --csv --page raw", label);
    else {
        static const char *const mn[] = {"Metric Name", NULL}, *const mv[] = {"Metric Value", NULL};
        if (find_col(&hdr, mn) >= 0 && find_col(&hdr, mv) >= 0)
            st = parse_details(text, pos, line, &hdr, label, out, max, count, err);
        else
            st = parse_raw(text, pos, line, &hdr, label, out, max, count, err);
    }
    row_free(&hdr);
    return st;
}

iob_status iob_ncu_parse_file(const char *path, iob_counters *out, int max, int *count,
                              iob_error *err)
{
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return iob_error_set(err, IOB_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    iob_status st = IOB_OK;
    while (text) {
        if (len + 4096 + 1 > cap) {
            char *nt = realloc(text, cap *= 2);
            if (!nt) {
                free(text);
                text = NULL;
                break;
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (!text)
        st = iob_error_set(err, IOB_ENOMEM, "%s: out of memory", path);
    else if (ferror(f))
        st = iob_error_set(err, IOB_EIO, "%s: read error", path);
    else if (memchr(text, '\0', len))
        st = iob_error_set(err, IOB_EINVAL, "%s: binary data, not an Nsight Compute CSV", path);
    fclose(f);
    if (!st) {
        text[len] = '\0';
        st = iob_ncu_parse_text(text, path, out, max, count, err);
    }
    free(text);
    return st;
}

/* ---- the command line and running it ------------------------------------------------------ */

iob_status iob_ncu_argv(const char *ncu, const char *kernel_regex, const char *log_file,
                        const char *const *child_argv, char ***argv_out, iob_error *err)
{
    char metrics[1024] = "";
    for (int m = 0; m < IOB_NMETRICS; m++) {
        if (m)
            strcat(metrics, ",");
        strcat(metrics, iob_metrics[m].name);
    }
    char regex[256] = "";
    if (kernel_regex)
        snprintf(regex, sizeof regex, "regex:%s", kernel_regex);
    const char *fixed[] = {ncu, "--metrics", metrics, "-k", regex, "--cache-control", "all",
                           "--clock-control", "none", "--csv", "--page", "raw", "--log-file",
                           log_file};
    int nfixed = (int)(sizeof fixed / sizeof fixed[0]), nchild = 0;
    while (child_argv[nchild])
        nchild++;
    size_t strbytes = 0;
    for (int i = 0; i < nfixed; i++)
        strbytes += strlen(fixed[i]) + 1;
    for (int i = 0; i < nchild; i++)
        strbytes += strlen(child_argv[i]) + 1;
    size_t nptr = (size_t)(nfixed + nchild + 1);
    char **v = malloc(nptr * sizeof *v + strbytes);
    if (!v)
        return iob_error_set(err, IOB_ENOMEM, "out of memory building the ncu command");
    char *s = (char *)(v + nptr);
    int k = 0;
    for (int i = 0; i < nfixed; i++) {
        if (!kernel_regex && (i == 3 || i == 4))
            continue; /* no -k filter */
        v[k++] = strcpy(s, fixed[i]);
        s += strlen(fixed[i]) + 1;
    }
    for (int i = 0; i < nchild; i++) {
        v[k++] = strcpy(s, child_argv[i]);
        s += strlen(child_argv[i]) + 1;
    }
    v[k] = NULL;
    *argv_out = v;
    return IOB_OK;
}

/* The last non-empty line of a file, for error messages. */
static void last_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n)
            snprintf(buf, size, "%s", line);
    }
    fclose(f);
}

iob_status iob_ncu_run(char *const *argv, const char *output_file, const char *log_file,
                       iob_counters *out, int max, int *count, iob_error *err)
{
    *count = 0;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa))
        return iob_error_set(err, IOB_EGPU, "cannot start %s: out of memory", argv[0]);
    posix_spawn_file_actions_addopen(&fa, 1, output_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return iob_error_set(err, IOB_EGPU, "cannot start %s: %s (set IOB_NCU to Nsight "
                             "Compute's ncu)", argv[0], strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return iob_error_set(err, IOB_EGPU, "waiting for %s: %s", argv[0], strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        char last[256];
        last_line(output_file, last, sizeof last);
        return iob_error_set(err, IOB_EGPU, "%s %s %d (output in %s): %s", argv[0],
                             WIFEXITED(status) ? "exited with status" : "killed by signal",
                             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                             output_file, last);
    }
    return iob_ncu_parse_file(log_file, out, max, count, err);
}
