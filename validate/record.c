/* record.c - the validation record: its fields, its CSV and JSON Lines forms, and the reader of
 * record files (docs/validate.md, "Record fields" and "File formats").
 *
 * One table (fields[] below) names every column once, in order; the CSV header, the CSV row,
 * the JSON object and both parsers walk that table, so the two formats cannot drift apart.
 * Numbers are written in the shortest form that reads back to the same double ("%.15g", or
 * "%.17g" where 15 digits do not round-trip); an unknown number (NAN, or not finite) is an
 * empty CSV cell and a JSON null.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "iobound/validate.h"
#include "model/csv.h"

/* ---- levels and names ----------------------------------------------------------------------- */

static const char *const level_names[IOB_LVL_COUNT] = {
    "l2_read_bytes", "l2_write_bytes", "dram_read_bytes", "dram_write_bytes",
    "smem_bytes", "ffma", "time_ms", "l2_read_slice_bytes"};
static const char *const level_labels[IOB_LVL_COUNT] = {
    "SM<-L2 read (SM side)", "SM->L2 write", "DRAM read", "DRAM write", "shared memory", "FFMA",
    "run time", "L2-slice read (lts)"};
static const char *const level_units[IOB_LVL_COUNT] = {
    "bytes", "bytes", "bytes", "bytes", "bytes", "FFMA instructions", "ms", "bytes"};

const char *iob_level_name(iob_level l)
{
    return (unsigned)l < IOB_LVL_COUNT ? level_names[l] : NULL;
}
const char *iob_level_label(iob_level l)
{
    return (unsigned)l < IOB_LVL_COUNT ? level_labels[l] : NULL;
}
const char *iob_level_unit(iob_level l)
{
    return (unsigned)l < IOB_LVL_COUNT ? level_units[l] : NULL;
}

static const char *const status_names[] = {"ok", "error", "inapplicable"};
static const char *const state_names[] = {"not run", "ok", "failed", "unavailable"};
#define NSTATUS (int)(sizeof status_names / sizeof status_names[0])
#define NSTATE (int)(sizeof state_names / sizeof state_names[0])

const char *iob_rec_status_name(iob_rec_status s)
{
    return (unsigned)s < NSTATUS ? status_names[s] : "unknown";
}
const char *iob_stage_state_name(iob_stage_state s)
{
    return (unsigned)s < NSTATE ? state_names[s] : "unknown";
}

/* ---- the record ----------------------------------------------------------------------------- */

void iob_record_init(iob_record *r)
{
    memset(r, 0, sizeof *r);
    r->flops = r->s_bytes = r->bound_sm_bytes = r->bound_gpu_bytes = r->compulsory_bytes = NAN;
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        r->pred[l] = r->sim[l] = r->meas[l] = r->relerr_pred[l] = r->relerr_sim[l] = NAN;
    r->meas_max_rel_err = r->cudnn_fp32_ms = r->cudnn_tf32_ms = NAN;
}

static double relerr(double x, double measured)
{
    if (!isfinite(x) || !isfinite(measured) || measured == 0)
        return NAN;
    return (x - measured) / measured;
}

void iob_record_finish(iob_record *r)
{
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        r->relerr_pred[l] = relerr(r->pred[l], r->meas[l]);
        r->relerr_sim[l] = relerr(r->sim[l], r->meas[l]);
    }
    if (r->status != IOB_REC_INAPPLICABLE &&
        (r->pred_state == IOB_STAGE_FAILED || r->sim_state == IOB_STAGE_FAILED ||
         r->meas_state == IOB_STAGE_FAILED || r->error_stage[0]))
        r->status = IOB_REC_ERROR;
}

/* Copies src into dst (size bytes) with every control character turned into a space, so that
 * a record is always one line. */
static void copy_clean(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    dst[i] = '\0';
}

void iob_record_fail(iob_record *r, iob_stage_state *state, const char *stage,
                     const iob_error *err)
{
    if (state)
        *state = IOB_STAGE_FAILED;
    if (r->status != IOB_REC_INAPPLICABLE)
        r->status = IOB_REC_ERROR;
    iob_status code = err ? err->code : IOB_EINVAL;
    const char *msg = err && err->msg[0] ? err->msg : iob_status_name(code);
    if (!r->error_stage[0]) {
        copy_clean(r->error_stage, sizeof r->error_stage, stage);
        copy_clean(r->error_code, sizeof r->error_code, iob_status_name(code));
    }
    size_t len = strlen(r->error);
    char part[IOB_RECORD_ERROR_MAX];
    snprintf(part, sizeof part, "%s%s: %s", len ? "; " : "", stage, msg);
    copy_clean(r->error + len, sizeof r->error - len, part);
}

int iob_record_key(const iob_record *r, char *buf, size_t size)
{
    return snprintf(buf, size, "%s\t%s\t%s", r->layer_spec, r->algo, r->config);
}

double iob_levels_l2_total(const double *levels)
{
    return levels[IOB_LVL_L2_READ] + levels[IOB_LVL_L2_WRITE];
}

/* ---- the field table ------------------------------------------------------------------------ */

typedef enum { K_STR, K_NUM, K_STATUS, K_STATE } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    size_t offset;
    size_t size; /* K_STR: bytes of the array */
} field;

#define STR(name, m) {name, K_STR, offsetof(iob_record, m), sizeof(((iob_record *)0)->m)}
#define NUM(name, m) {name, K_NUM, offsetof(iob_record, m), 0}
#define STATE(name, m) {name, K_STATE, offsetof(iob_record, m), 0}
/* the eight levels of one array, named prefix + iob_level_name() */
#define LEVELS(prefix, arr)                                                                   \
    NUM(prefix "l2_read_bytes", arr[IOB_LVL_L2_READ]),                                        \
        NUM(prefix "l2_write_bytes", arr[IOB_LVL_L2_WRITE]),                                  \
        NUM(prefix "dram_read_bytes", arr[IOB_LVL_DRAM_READ]),                                \
        NUM(prefix "dram_write_bytes", arr[IOB_LVL_DRAM_WRITE]),                              \
        NUM(prefix "smem_bytes", arr[IOB_LVL_SMEM]), NUM(prefix "ffma", arr[IOB_LVL_FFMA]),   \
        NUM(prefix "time_ms", arr[IOB_LVL_TIME]),                                             \
        NUM(prefix "l2_read_slice_bytes", arr[IOB_LVL_L2_READ_SLICE])

static const field fields[] = {
    STR("layer", layer),
    STR("layer_spec", layer_spec),
    STR("algo", algo),
    STR("variant", variant),
    STR("config", config),
    STR("machine", machine),
    {"status", K_STATUS, offsetof(iob_record, status), 0},
    STR("error_stage", error_stage),
    STR("error_code", error_code),
    STR("error", error),
    NUM("flops", flops),
    NUM("s_bytes", s_bytes),
    NUM("bound_sm_bytes", bound_sm_bytes),
    NUM("bound_gpu_bytes", bound_gpu_bytes),
    NUM("compulsory_bytes", compulsory_bytes),
    STR("bound_dominant", bound_dominant),
    STATE("pred_state", pred_state),
    LEVELS("pred_", pred),
    STR("pred_limiter", pred_limiter),
    STATE("sim_state", sim_state),
    LEVELS("sim_", sim),
    STATE("meas_state", meas_state),
    LEVELS("meas_", meas),
    NUM("meas_max_rel_err", meas_max_rel_err),
    NUM("cudnn_fp32_ms", cudnn_fp32_ms),
    STR("cudnn_fp32_algo", cudnn_fp32_algo),
    NUM("cudnn_tf32_ms", cudnn_tf32_ms),
    STR("cudnn_tf32_algo", cudnn_tf32_algo),
    LEVELS("relerr_pred_", relerr_pred),
    LEVELS("relerr_sim_", relerr_sim),
};
#undef STR
#undef NUM
#undef STATE
#undef LEVELS
#define NFIELDS (int)(sizeof fields / sizeof fields[0])

int iob_record_field_count(void) { return NFIELDS; }

const char *iob_record_field_name(int i)
{
    return i >= 0 && i < NFIELDS ? fields[i].name : NULL;
}

static char csv_header[2048];
static pthread_once_t csv_header_once = PTHREAD_ONCE_INIT;

static void build_csv_header(void)
{
    size_t n = 0;
    for (int i = 0; i < NFIELDS; i++)
        n += (size_t)snprintf(csv_header + n, sizeof csv_header - n, "%s%s", i ? "," : "",
                              fields[i].name);
}

const char *iob_record_csv_header(void)
{
    pthread_once(&csv_header_once, build_csv_header);
    return csv_header;
}

static int field_index(const char *name)
{
    for (int i = 0; i < NFIELDS; i++)
        if (!strcmp(fields[i].name, name))
            return i;
    return -1;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* Shortest text that strtod() reads back as v; "" for an unknown number. */
static void format_num(double v, char *buf, size_t size)
{
    if (!isfinite(v)) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, size, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, size, "%.17g", v);
}

static double get_num(const iob_record *r, const field *f)
{
    return *(const double *)((const char *)r + f->offset);
}

static const char *get_text(const iob_record *r, const field *f)
{
    const char *base = (const char *)r + f->offset;
    switch (f->kind) {
    case K_STR: return base;
    case K_STATUS: return iob_rec_status_name(*(const iob_rec_status *)base);
    case K_STATE: return iob_stage_state_name(*(const iob_stage_state *)base);
    default: return "";
    }
}

/* A growable string for one line. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void csv_cell(sbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"") && s[0] != ' ' && s[0] != '#') {
        sb_puts(b, s);
        return;
    }
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            sb_put(b, "\"\"", 2);
        else
            sb_put(b, s, 1);
    }
    sb_put(b, "\"", 1);
}

static cJSON *record_json(const iob_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &fields[i];
        cJSON *item;
        if (f->kind == K_NUM) {
            double v = get_num(r, f);
            item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
        } else {
            item = cJSON_CreateString(get_text(r, f));
        }
        if (!item || !cJSON_AddItemToObject(o, f->name, item)) {
            cJSON_Delete(item);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

iob_status iob_record_to_line(const iob_record *r, iob_record_format fmt, char **line,
                              iob_error *err)
{
    *line = NULL;
    sbuf b = {0};
    if (fmt == IOB_RECFMT_JSONL) {
        cJSON *o = record_json(r);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!text)
            return iob_error_set(err, IOB_ENOMEM, "out of memory formatting a record");
        sb_puts(&b, text);
        cJSON_free(text);
    } else {
        char num[40], clean[IOB_RECORD_ERROR_MAX + 64];
        for (int i = 0; i < NFIELDS; i++) {
            const field *f = &fields[i];
            if (i)
                sb_put(&b, ",", 1);
            if (f->kind == K_NUM) {
                format_num(get_num(r, f), num, sizeof num);
                sb_puts(&b, num);
            } else {
                copy_clean(clean, sizeof clean, get_text(r, f));
                csv_cell(&b, clean);
            }
        }
    }
    sb_put(&b, "\n", 1);
    if (b.oom) {
        free(b.p);
        return iob_error_set(err, IOB_ENOMEM, "out of memory formatting a record");
    }
    *line = b.p;
    return IOB_OK;
}

/* ---- parsing -------------------------------------------------------------------------------- */

static iob_status set_field(iob_record *r, const field *f, const char *text, int is_null,
                            iob_error *err)
{
    char *base = (char *)r + f->offset;
    switch (f->kind) {
    case K_NUM: {
        double *d = (double *)base;
        if (is_null || !*text) {
            *d = NAN;
            return IOB_OK;
        }
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (end == text || *end || !isfinite(v))
            return iob_error_set(err, IOB_EINVAL, "field %s: '%.40s' is not a number", f->name,
                                 text);
        *d = v;
        return IOB_OK;
    }
    case K_STR:
        if (strlen(text) >= f->size)
            return iob_error_set(err, IOB_EINVAL, "field %s: longer than %zu bytes", f->name,
                                 f->size - 1);
        copy_clean(base, f->size, is_null ? "" : text);
        return IOB_OK;
    case K_STATUS:
        for (int i = 0; i < NSTATUS; i++)
            if (!strcmp(text, status_names[i])) {
                *(iob_rec_status *)base = (iob_rec_status)i;
                return IOB_OK;
            }
        return iob_error_set(err, IOB_EINVAL, "field status: '%.40s' is not ok, error or "
                             "inapplicable", text);
    case K_STATE:
        for (int i = 0; i < NSTATE; i++)
            if (!strcmp(text, state_names[i])) {
                *(iob_stage_state *)base = (iob_stage_state)i;
                return IOB_OK;
            }
        return iob_error_set(err, IOB_EINVAL, "field %s: '%.40s' is not a stage state (not "
                             "run, ok, failed, unavailable)", f->name, text);
    }
    return IOB_OK;
}

static iob_status require_key_fields(const iob_record *r, iob_error *err)
{
    if (!r->layer_spec[0] || !r->algo[0])
        return iob_error_set(err, IOB_EINVAL, "a record without layer_spec or algo");
    return IOB_OK;
}

static iob_status from_json(const char *line, iob_record *r, iob_error *err)
{
    cJSON *o = cJSON_Parse(line);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return iob_error_set(err, IOB_EINVAL, "not a JSON object");
    }
    iob_status st = IOB_OK;
    for (int i = 0; i < NFIELDS && !st; i++) {
        const field *f = &fields[i];
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, f->name);
        if (!it || cJSON_IsNull(it))
            st = f->kind == K_NUM || f->kind == K_STR ? set_field(r, f, "", 1, err) : IOB_OK;
        else if (f->kind == K_NUM && cJSON_IsNumber(it)) {
            *(double *)((char *)r + f->offset) = it->valuedouble;
        } else if (f->kind != K_NUM && cJSON_IsString(it))
            st = set_field(r, f, it->valuestring, 0, err);
        else
            st = iob_error_set(err, IOB_EINVAL, "field %s: expected a %s", f->name,
                               f->kind == K_NUM ? "number or null" : "string");
    }
    cJSON_Delete(o);
    return st ? st : require_key_fields(r, err);
}

/* CSV rows map their cells to fields through a column map (cols[i] = field index of cell i). */
static iob_status from_csv(const char *line, const int *cols, int ncols, iob_record *r,
                           iob_error *err)
{
    size_t len = strlen(line);
    char *copy = malloc(len + 1);
    char **cells = malloc((size_t)(NFIELDS + 1) * sizeof *cells);
    if (!copy || !cells) {
        free(copy);
        free(cells);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    memcpy(copy, line, len + 1);
    int n = iob_csv_split(copy, cells, NFIELDS);
    iob_status st = IOB_OK;
    if (n < 0)
        st = iob_error_set(err, IOB_EINVAL, "unterminated quote");
    else if (n != ncols)
        st = iob_error_set(err, IOB_EINVAL, "%d cells, the header has %d", n, ncols);
    for (int i = 0; !st && i < n; i++)
        st = set_field(r, &fields[cols[i]], cells[i], 0, err);
    free(copy);
    free(cells);
    return st ? st : require_key_fields(r, err);
}

iob_status iob_record_from_line(const char *line, iob_record_format fmt, iob_record *r,
                                iob_error *err)
{
    iob_record_init(r);
    if (fmt == IOB_RECFMT_JSONL)
        return from_json(line, r, err);
    int cols[128];
    for (int i = 0; i < NFIELDS; i++)
        cols[i] = i;
    return from_csv(line, cols, NFIELDS, r, err);
}

/* ---- lists and files ------------------------------------------------------------------------ */

void iob_record_list_free(iob_record_list *list)
{
    free(list->items);
    memset(list, 0, sizeof *list);
}

iob_status iob_record_list_push(iob_record_list *list, const iob_record *r, iob_error *err)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 64;
        iob_record *n = realloc(list->items, cap * sizeof *n);
        if (!n)
            return iob_error_set(err, IOB_ENOMEM, "out of memory reading records");
        list->items = n;
        list->cap = cap;
    }
    list->items[list->count++] = *r;
    return IOB_OK;
}

/* Parses a CSV header into a column map; IOB_EINVAL on an unknown or repeated column, or when
 * a key column is missing. */
static iob_status parse_header(const char *line, int *cols, int *ncols, iob_error *err)
{
    size_t len = strlen(line);
    char *copy = malloc(len + 1);
    char *cells[130];
    if (!copy)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    memcpy(copy, line, len + 1);
    int n = iob_csv_split(copy, cells, 128);
    iob_status st = IOB_OK;
    int seen[128] = {0};
    if (n < 0 || n > 128)
        st = iob_error_set(err, IOB_EINVAL, "not a record header");
    for (int i = 0; !st && i < n; i++) {
        int f = field_index(cells[i]);
        if (f < 0)
            st = iob_error_set(err, IOB_EINVAL, "unknown column '%.60s' (not an iobound "
                               "validate file?)", cells[i]);
        else if (seen[f]++)
            st = iob_error_set(err, IOB_EINVAL, "column '%s' appears twice", cells[i]);
        else
            cols[i] = f;
    }
    if (!st && (!seen[field_index("layer_spec")] || !seen[field_index("algo")] ||
                !seen[field_index("config")]))
        st = iob_error_set(err, IOB_EINVAL, "the header lacks layer_spec, algo or config");
    free(copy);
    *ncols = n;
    return st;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

iob_status iob_records_parse(const char *text, size_t len, const char *label,
                             iob_record_list *list, iob_error *err)
{
    int cols[128], ncols = 0, have_header = 0, fmt_known = 0;
    list->format = IOB_RECFMT_CSV;
    list->torn_bytes = 0;
    list->good_bytes = 0;
    size_t pos = 0, lineno = 0;
    char *line = NULL;
    size_t line_cap = 0;
    iob_status st = IOB_OK;
    while (pos < len && !st) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl) { /* an unterminated last line: a record torn by a killed writer */
            list->torn_bytes = (int64_t)(len - pos);
            break;
        }
        size_t n = (size_t)(nl - (text + pos));
        lineno++;
        if (n + 1 > line_cap) {
            char *nb = realloc(line, n + 1);
            if (!nb) {
                st = iob_error_set(err, IOB_ENOMEM, "out of memory");
                break;
            }
            line = nb;
            line_cap = n + 1;
        }
        memcpy(line, text + pos, n);
        if (n && line[n - 1] == '\r')
            n--;
        line[n] = '\0';
        pos += (size_t)(nl - (text + pos)) + 1;
        if (memchr(line, '\0', n)) {
            st = iob_error_set(err, IOB_EINVAL, "%s:%zu: binary data, not a record file", label,
                               lineno);
            break;
        }
        if (is_blank(line, n) || line[0] == '#') {
            list->good_bytes = (int64_t)pos;
            continue;
        }
        if (!fmt_known) {
            fmt_known = 1;
            list->format = line[0] == '{' ? IOB_RECFMT_JSONL : IOB_RECFMT_CSV;
        }
        if (list->format == IOB_RECFMT_CSV && !have_header) {
            st = parse_header(line, cols, &ncols, err);
            if (st) {
                iob_error_prefix(err, "%s:%zu", label, lineno);
                break;
            }
            have_header = 1;
            list->good_bytes = (int64_t)pos;
            continue;
        }
        iob_record r;
        iob_record_init(&r);
        st = list->format == IOB_RECFMT_JSONL ? from_json(line, &r, err)
                                              : from_csv(line, cols, ncols, &r, err);
        if (st) {
            iob_error_prefix(err, "%s:%zu", label, lineno);
            break;
        }
        st = iob_record_list_push(list, &r, err);
        list->good_bytes = (int64_t)pos;
    }
    free(line);
    return st;
}

iob_status iob_records_read(const char *path, iob_record_list *list, iob_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return iob_error_set(err, errno == ENOENT || errno == ENOTDIR ? IOB_EINVAL : IOB_EIO,
                             "%s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    iob_status st = IOB_OK;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            size_t ncap = cap ? 2 * cap : 1 << 20;
            char *nb = realloc(text, ncap);
            if (!nb) {
                st = iob_error_set(err, IOB_ENOMEM, "%s: out of memory", path);
                break;
            }
            text = nb;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp))
                st = iob_error_set(err, IOB_EIO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(fp);
    if (!st)
        st = iob_records_parse(text ? text : "", len, path, list, err);
    free(text);
    return st;
}
