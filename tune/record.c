/* record.c - the records `iobound tune` appends, one per layer, as CSV or JSON Lines: writing,
 * reading back, and resuming an interrupted run (complete records are kept, a torn last line is
 * cut off). One table of fields drives the writer, the reader and both formats (docs/tune.md,
 * "Records"). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "iobound/tune.h"
#include "model/csv.h"

typedef enum { F_TEXT, F_NUM, F_LONG, F_INT } field_kind;

typedef struct field {
    const char *key;
    field_kind kind;
    size_t offset;
    size_t size; /* F_TEXT: buffer size */
} field;

#define TEXT(k) {#k, F_TEXT, offsetof(iob_tune_record, k), sizeof(((iob_tune_record *)0)->k)}
#define NUM(k) {#k, F_NUM, offsetof(iob_tune_record, k), 0}
#define LONG(k) {#k, F_LONG, offsetof(iob_tune_record, k), 0}
#define INT(k) {#k, F_INT, offsetof(iob_tune_record, k), 0}
static const field fields[] = {
    TEXT(layer),          TEXT(status),          NUM(time_ms),
    TEXT(config),         LONG(measured),        LONG(feasible),
    LONG(kept),           LONG(failed),          LONG(rank),
    NUM(pred_ms),         NUM(ratio),            NUM(tune_s),
    NUM(cudnn_fp32_ms),   TEXT(cudnn_fp32_algo), NUM(cudnn_tf32_ms),
    TEXT(cudnn_tf32_algo), NUM(floor_ms),        INT(certified),
    NUM(random_ms),       LONG(random_measured), TEXT(random_config),
    NUM(exhaustive_ms),   LONG(exhaustive_measured), TEXT(exhaustive_config),
    NUM(exhaustive_ratio), LONG(exhaustive_rank), TEXT(spec),
    TEXT(message),
};
#undef TEXT
#undef NUM
#undef LONG
#undef INT
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

static void *at(const iob_tune_record *r, const field *f)
{
    return (char *)r + f->offset;
}

void iob_tune_record_init(iob_tune_record *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < NFIELDS; i++) {
        if (fields[i].kind == F_NUM)
            *(double *)at(r, &fields[i]) = NAN;
        else if (fields[i].kind == F_LONG)
            *(long *)at(r, &fields[i]) = -1;
        else if (fields[i].kind == F_INT)
            *(int *)at(r, &fields[i]) = -1;
    }
}

/* ---- writing ----------------------------------------------------------------------------- */

void iob_tune_record_csv_header(FILE *out)
{
    for (int i = 0; i < NFIELDS; i++)
        fprintf(out, "%s%s", i ? "," : "", fields[i].key);
}

/* A text cell: one line always (records are line-oriented), CSV-quoted when needed. */
static void csv_text(FILE *out, const char *s)
{
    int quote = strpbrk(s, ",\"") != NULL;
    if (quote)
        fputc('"', out);
    for (; *s; s++) {
        char c = *s == '\n' || *s == '\r' ? ' ' : *s;
        if (c == '"')
            fputc('"', out);
        fputc(c, out);
    }
    if (quote)
        fputc('"', out);
}

static char *one_line(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return d;
}

void iob_tune_record_write(FILE *out, iob_tune_rec_fmt fmt, const iob_tune_record *r)
{
    if (fmt == IOB_TUNE_REC_CSV) {
        for (int i = 0; i < NFIELDS; i++) {
            const field *f = &fields[i];
            if (i)
                fputc(',', out);
            if (f->kind == F_TEXT)
                csv_text(out, (const char *)at(r, f));
            else if (f->kind == F_NUM) {
                double v = *(const double *)at(r, f);
                if (isfinite(v))
                    fprintf(out, "%.9g", v);
            } else if (f->kind == F_LONG)
                fprintf(out, "%ld", *(const long *)at(r, f));
            else
                fprintf(out, "%d", *(const int *)at(r, f));
        }
        fputc('\n', out);
        fflush(out);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &fields[i];
        if (f->kind == F_TEXT) {
            char *s = one_line((const char *)at(r, f));
            cJSON_AddStringToObject(o, f->key, s ? s : "");
            free(s);
        } else if (f->kind == F_NUM) {
            double v = *(const double *)at(r, f);
            if (isfinite(v))
                cJSON_AddNumberToObject(o, f->key, v);
            else
                cJSON_AddNullToObject(o, f->key);
        } else {
            double v = f->kind == F_LONG ? (double)*(const long *)at(r, f)
                                         : (double)*(const int *)at(r, f);
            cJSON_AddNumberToObject(o, f->key, v);
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s) {
        fputs(s, out);
        fputc('\n', out);
        free(s);
    }
    fflush(out);
}

/* ---- reading ----------------------------------------------------------------------------- */

void iob_tune_record_list_free(iob_tune_record_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

iob_status iob_tune_record_list_push(iob_tune_record_list *l, const iob_tune_record *r,
                                     iob_error *err)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        iob_tune_record *n = realloc(l->items, cap * sizeof *n);
        if (!n)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu records", cap);
        l->items = n;
        l->cap = cap;
    }
    l->items[l->count++] = *r;
    return IOB_OK;
}

/* Sets field f of r from text; -1 when the text is not a value of that kind. */
static int set_field(iob_tune_record *r, const field *f, const char *text)
{
    if (f->kind == F_TEXT) {
        if (strlen(text) >= f->size)
            return -1;
        strcpy((char *)at(r, f), text);
        return 0;
    }
    if (!*text)
        return f->kind == F_NUM ? 0 : -1; /* NaN stays */
    char *end;
    errno = 0;
    if (f->kind == F_NUM) {
        double v = strtod(text, &end);
        if (*end || errno)
            return -1;
        *(double *)at(r, f) = v;
    } else {
        long v = strtol(text, &end, 10);
        if (*end || errno)
            return -1;
        if (f->kind == F_LONG)
            *(long *)at(r, f) = v;
        else
            *(int *)at(r, f) = (int)v;
    }
    return 0;
}

static int parse_json_record(const char *line, iob_tune_record *r)
{
    cJSON *o = cJSON_Parse(line);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < NFIELDS && !bad; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[i].key);
        if (!v || cJSON_IsNull(v))
            continue;
        if (fields[i].kind == F_TEXT) {
            bad = !cJSON_IsString(v) || set_field(r, &fields[i], v->valuestring);
        } else if (!cJSON_IsNumber(v)) {
            bad = 1;
        } else if (fields[i].kind == F_NUM) {
            *(double *)at(r, &fields[i]) = v->valuedouble;
        } else if (fields[i].kind == F_LONG) {
            *(long *)at(r, &fields[i]) = (long)v->valuedouble;
        } else {
            *(int *)at(r, &fields[i]) = (int)v->valuedouble;
        }
    }
    cJSON_Delete(o);
    return bad ? -1 : 0;
}

/* colmap[i] = index in fields of CSV column i, or -1 for a column we do not know */
static int parse_csv_record(char *line, const int *colmap, int ncols, iob_tune_record *r)
{
    char *cells[NFIELDS + 16];
    int n = iob_csv_split(line, cells, NFIELDS + 16);
    if (n != ncols)
        return -1;
    for (int i = 0; i < n; i++)
        if (colmap[i] >= 0 && set_field(r, &fields[colmap[i]], cells[i]))
            return -1;
    return 0;
}

static int csv_header_map(char *line, int *colmap, int *ncols)
{
    char *cells[NFIELDS + 16];
    int n = iob_csv_split(line, cells, NFIELDS + 16);
    if (n < 1 || n > NFIELDS + 16)
        return -1;
    int have_layer = 0;
    for (int i = 0; i < n; i++) {
        colmap[i] = -1;
        for (int j = 0; j < NFIELDS; j++)
            if (!strcmp(cells[i], fields[j].key))
                colmap[i] = j;
        have_layer |= !strcmp(cells[i], "layer");
    }
    *ncols = n;
    return have_layer ? 0 : -1;
}

iob_status iob_tune_records_open(const char *path, iob_tune_rec_fmt fmt, FILE **fpp,
                                 iob_tune_record_list *done, iob_error *err)
{
    *fpp = NULL;
    FILE *fp = fopen(path, "r+");
    if (!fp && errno == ENOENT)
        fp = fopen(path, "w+");
    if (!fp)
        return iob_error_set(err, IOB_EIO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long good_end = 0; /* offset just past the last complete line */
    long lineno = 0;
    int is_json = -1, colmap[NFIELDS + 16], ncols = 0;
    iob_status st = IOB_OK;
    while ((len = getline(&line, &cap, fp)) > 0) {
        if (line[len - 1] != '\n')
            break; /* torn by a killed run: cut off below */
        lineno++;
        line[len - 1] = '\0';
        if (is_json < 0) {
            is_json = line[0] == '{';
            if (is_json != (fmt == IOB_TUNE_REC_JSONL)) {
                st = iob_error_set(err, IOB_EINVAL, "%s holds %s records; use --format %s or "
                                   "another file", path, is_json ? "JSON Lines" : "CSV",
                                   is_json ? "json" : "csv");
                break;
            }
            if (!is_json && csv_header_map(line, colmap, &ncols)) {
                st = iob_error_set(err, IOB_EINVAL, "%s:1: not a header of tuning records",
                                   path);
                break;
            }
            good_end = ftell(fp);
            if (!is_json)
                continue;
        }
        iob_tune_record r;
        iob_tune_record_init(&r);
        int bad = is_json ? parse_json_record(line, &r)
                          : parse_csv_record(line, colmap, ncols, &r);
        if (bad || !r.spec[0]) {
            st = iob_error_set(err, IOB_EINVAL, "%s:%ld: not a tuning record", path, lineno);
            break;
        }
        if ((st = iob_tune_record_list_push(done, &r, err)))
            break;
        good_end = ftell(fp);
    }
    free(line);
    if (st) {
        fclose(fp);
        return st;
    }
    if (ftruncate(fileno(fp), good_end) || fseek(fp, 0, SEEK_END)) {
        int saved = errno;
        fclose(fp);
        return iob_error_set(err, IOB_EIO, "%s: %s", path, strerror(saved));
    }
    if (good_end == 0 && fmt == IOB_TUNE_REC_CSV) {
        iob_tune_record_csv_header(fp);
        fputc('\n', fp);
        fflush(fp);
    }
    *fpp = fp;
    return IOB_OK;
}
