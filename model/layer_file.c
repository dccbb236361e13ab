/* layer_file.c - layers from files: CSV with a header row of spec keys, or JSON (an array of
 * objects with the same keys). Both go through iob_layer_set(), so a file obeys exactly the spec
 * grammar of docs/cli.md.
 *
 * Accepted as they are: ../shared/bench/gpu-layers.csv, im2win-12.csv and convbench-2000.csv.
 * Columns that carry no shape are recognised and skipped ("bias", "models"); "example" is taken
 * as the layer's name where no "name" column exists. Any other unknown column is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "iobound/layer.h"
#include "model/csv.h"

/* Files larger than this are refused rather than read into memory: the largest layer set we
 * know (convbench-2000.csv) is 180 KB. */
#define IOB_LAYER_FILE_MAX (256L << 20)

/* Finishes a layer read from a file; a declared p/q that disagrees with the shape becomes a
 * warning on the list (with the output size pad=same would give, the usual cause). */
static iob_status finish_row(iob_layer *L, iob_layer_list *list, const char *where,
                             iob_error *err)
{
    int64_t dp, dq;
    iob_status st = iob_layer_finish_declared(L, &dp, &dq, err);
    if (st)
        return st;
    if ((dp && dp != L->p) || (dq && dq != L->q)) {
        char line[512];
        int64_t sp = (L->h + L->stride_h - 1) / L->stride_h, sq = (L->w + L->stride_w - 1) / L->stride_w;
        snprintf(line, sizeof line,
                 "%s%s%s: declared p=%lld, q=%lld but the shape gives p=%lld, q=%lld%s; "
                 "using the shape", where, L->name[0] ? " " : "", L->name, (long long)(dp ? dp : L->p),
                 (long long)(dq ? dq : L->q), (long long)L->p, (long long)L->q,
                 (!dp || dp == sp) && (!dq || dq == sq) ? " (pad=same would give the declared size)"
                                                        : "");
        char **w = realloc(list->warnings, (list->nwarnings + 1) * sizeof *w);
        char *copy = strdup(line);
        if (!w || !copy) {
            free(copy);
            if (w)
                list->warnings = w;
            return iob_error_set(err, IOB_ENOMEM, "out of memory");
        }
        list->warnings = w;
        list->warnings[list->nwarnings++] = copy;
    }
    return IOB_OK;
}

static int is_ignored_column(const char *key)
{
    return !strcmp(key, "bias") || !strcmp(key, "models");
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* Splits one CSV record (RFC 4180 quoting) in place; returns the number of fields or -1 on an
 * unterminated quote. */
int iob_csv_split(char *line, char **fields, int max_fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max_fields)
            return max_fields + 1;
        char *out = p;
        fields[n++] = out;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            while (*p && *p != ',')
                p++; /* text after a closing quote is dropped, as spreadsheets do */
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        int more = *p == ',';
        *out = '\0';
        if (!more)
            return n;
        p++;
    }
}

static char *read_all(FILE *fp, const char *label, size_t *len, iob_error *err)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        iob_error_set(err, IOB_ENOMEM, "%s: out of memory", label);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)IOB_LAYER_FILE_MAX) {
                free(buf);
                iob_error_set(err, IOB_ERANGE, "%s: larger than %ld MiB, not a layer file", label,
                              IOB_LAYER_FILE_MAX >> 20);
                return NULL;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                iob_error_set(err, IOB_ENOMEM, "%s: out of memory", label);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp)) {
                free(buf);
                iob_error_set(err, IOB_EIO, "%s: read error: %s", label, strerror(errno));
                return NULL;
            }
            break;
        }
    }
    buf[n] = '\0';
    /* Binary data: a NUL byte or a control character other than tab/CR/LF. */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == 0 || (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f) {
            free(buf);
            iob_error_set(err, IOB_EINVAL, "%s: binary data (byte 0x%02x at offset %zu), not a "
                          "CSV or JSON layer file", label, ch, i);
            return NULL;
        }
    }
    *len = n;
    return buf;
}

#define CSV_MAX_FIELDS 64

static iob_status read_csv(char *text, const char *label, iob_layer_list *list, iob_error *err)
{
    char *fields[CSV_MAX_FIELDS + 1];
    char header_buf[4096];
    char *header[CSV_MAX_FIELDS];
    int ncols = -1, name_col = -1, example_col = -1;
    size_t line_no = 0, layers = 0;
    char *save = text;
    while (save && *save) {
        char *line = save;
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            save = nl + 1;
        } else {
            save = NULL;
        }
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        int blank = 1;
        for (size_t i = 0; i < len; i++)
            if (!isspace((unsigned char)line[i]))
                blank = 0;
        if (blank || line[0] == '#')
            continue;
        if (ncols < 0) {
            if (len >= sizeof header_buf)
                return iob_error_set(err, IOB_EINVAL, "%s:%zu: header line too long", label,
                                     line_no);
            memcpy(header_buf, line, len + 1);
            ncols = iob_csv_split(header_buf, fields, CSV_MAX_FIELDS);
            if (ncols < 0)
                return iob_error_set(err, IOB_EINVAL, "%s:%zu: unterminated quote in header",
                                     label, line_no);
            if (ncols > CSV_MAX_FIELDS)
                return iob_error_set(err, IOB_EINVAL, "%s:%zu: more than %d columns", label,
                                     line_no, CSV_MAX_FIELDS);
            for (int i = 0; i < ncols; i++) {
                header[i] = fields[i];
                trim(header[i]);
                for (char *c = header[i]; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                if (!strcmp(header[i], "name"))
                    name_col = i;
                else if (!strcmp(header[i], "example"))
                    example_col = i;
                else if (!is_ignored_column(header[i])) {
                    /* validate the key now so that a bad header fails once, on its own line */
                    iob_layer probe;
                    iob_layer_init(&probe);
                    iob_error e;
                    if (iob_layer_set(&probe, header[i], "1", &e) == IOB_EINVAL &&
                        strstr(e.msg, "unknown key"))
                        return iob_error_set(err, IOB_EINVAL,
                                             "%s:%zu: unknown column '%s' (columns are spec keys: "
                                             "name n c h w k r s stride stride_h ... groups p q)",
                                             label, line_no, header[i]);
                }
                for (int j = 0; j < i; j++)
                    if (!strcmp(header[j], header[i]))
                        return iob_error_set(err, IOB_EINVAL, "%s:%zu: column '%s' appears twice",
                                             label, line_no, header[i]);
            }
            continue;
        }
        int nf = iob_csv_split(line, fields, CSV_MAX_FIELDS);
        if (nf < 0)
            return iob_error_set(err, IOB_EINVAL, "%s:%zu: unterminated quote", label, line_no);
        if (nf != ncols)
            return iob_error_set(err, IOB_EINVAL, "%s:%zu: %d fields, the header has %d%s", label,
                                 line_no, nf > CSV_MAX_FIELDS ? CSV_MAX_FIELDS + 1 : nf, ncols,
                                 nf < ncols && !save ? " (truncated file?)" : "");
        iob_layer L;
        iob_layer_init(&L);
        for (int i = 0; i < ncols; i++) {
            trim(fields[i]);
            if (i == example_col && name_col < 0) {
                if (iob_layer_set(&L, "name", fields[i], err))
                    return iob_error_prefix(err, "%s:%zu", label, line_no);
                continue;
            }
            if (i == example_col || is_ignored_column(header[i]))
                continue;
            if (fields[i][0] == '\0' && i == name_col)
                continue;
            if (fields[i][0] == '\0')
                return iob_error_set(err, IOB_EINVAL, "%s:%zu: column '%s' is empty", label,
                                     line_no, header[i]);
            if (iob_layer_set(&L, header[i], fields[i], err))
                return iob_error_prefix(err, "%s:%zu", label, line_no);
        }
        char where[300];
        snprintf(where, sizeof where, "%s:%zu", label, line_no);
        if (finish_row(&L, list, where, err))
            return iob_error_prefix(err, "%s%s%s", where, L.name[0] ? " " : "", L.name);
        if (iob_layer_list_push(list, &L, err))
            return err ? err->code : IOB_ENOMEM;
        layers++;
    }
    if (ncols < 0)
        return iob_error_set(err, IOB_EINVAL, "%s: empty file (no header row)", label);
    if (layers == 0)
        return iob_error_set(err, IOB_EINVAL, "%s: a header row but no layers", label);
    return IOB_OK;
}

static iob_status json_value_text(const cJSON *item, char *buf, size_t size, const char *key,
                                  iob_error *err)
{
    if (cJSON_IsString(item)) {
        if (strlen(item->valuestring) >= size)
            return iob_error_set(err, IOB_EINVAL, "%s: value too long", key);
        strcpy(buf, item->valuestring);
        return IOB_OK;
    }
    if (cJSON_IsNumber(item)) {
        double v = item->valuedouble;
        if (v != v || v < -9.2e18 || v > 9.2e18 || (double)(long long)v != v)
            return iob_error_set(err, IOB_EINVAL, "%s=%g: not a whole number", key, v);
        snprintf(buf, size, "%lld", (long long)v);
        return IOB_OK;
    }
    return iob_error_set(err, IOB_EINVAL, "%s: expected a number or a string", key);
}

static iob_status read_json(const char *text, const char *label, iob_layer_list *list,
                            iob_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off && text[i]; i++)
            line += text[i] == '\n';
        return iob_error_set(err, IOB_EINVAL, "%s:%zu: malformed JSON near offset %zu%s", label,
                             line, off, text[off] ? "" : " (truncated file?)");
    }
    const cJSON *arr = root;
    if (cJSON_IsObject(root)) /* also accept iobound's own output: {"layers": [...]} */
        arr = cJSON_GetObjectItemCaseSensitive(root, "layers");
    iob_status st = IOB_OK;
    if (!cJSON_IsArray(arr)) {
        st = iob_error_set(err, IOB_EINVAL, "%s: expected a JSON array of layer objects", label);
        goto out;
    }
    int idx = 0, count = 0;
    const cJSON *obj;
    cJSON_ArrayForEach(obj, arr)
    {
        if (!cJSON_IsObject(obj)) {
            st = iob_error_set(err, IOB_EINVAL, "%s: element %d is not an object", label, idx);
            goto out;
        }
        iob_layer L;
        iob_layer_init(&L);
        const cJSON *kv;
        int have_name = cJSON_HasObjectItem(obj, "name");
        cJSON_ArrayForEach(kv, obj)
        {
            const char *key = kv->string;
            if (is_ignored_column(key))
                continue;
            /* iobound's own output carries derived and per-algorithm fields; skip them */
            if (!strcmp(key, "flops") || !strcmp(key, "compulsory_bytes") ||
                !strcmp(key, "bounds") || !strcmp(key, "macs"))
                continue;
            if (!strcmp(key, "example")) {
                if (have_name)
                    continue;
                key = "name";
            }
            char buf[IOB_NAME_MAX + 16];
            if ((st = json_value_text(kv, buf, sizeof buf, key, err)) ||
                (st = iob_layer_set(&L, key, buf, err))) {
                iob_error_prefix(err, "%s: element %d", label, idx);
                goto out;
            }
        }
        char where[300];
        snprintf(where, sizeof where, "%s: element %d", label, idx);
        if ((st = finish_row(&L, list, where, err))) {
            iob_error_prefix(err, "%s: element %d%s%s", label, idx, L.name[0] ? " " : "", L.name);
            goto out;
        }
        if ((st = iob_layer_list_push(list, &L, err)))
            goto out;
        idx++;
        count++;
    }
    if (count == 0)
        st = iob_error_set(err, IOB_EINVAL, "%s: no layers in the array", label);
out:
    cJSON_Delete(root);
    return st;
}

iob_status iob_layers_read_stream(FILE *fp, const char *label, iob_layer_list *list,
                                  iob_error *err)
{
    size_t len;
    char *text = read_all(fp, label, &len, err);
    if (!text)
        return err ? err->code : IOB_EIO;
    const char *p = text;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte-order mark */
    while (isspace((unsigned char)*p))
        p++;
    iob_status st;
    if (*p == '\0')
        st = iob_error_set(err, IOB_EINVAL, "%s: empty file", label);
    else if (*p == '[' || *p == '{')
        st = read_json(p, label, list, err);
    else
        st = read_csv((char *)p, label, list, err);
    free(text);
    return st;
}

iob_status iob_layers_read_file(const char *path, iob_layer_list *list, iob_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) /* a file named on the command line that is not there is bad input (exit 2) */
        return iob_error_set(err, errno == ENOENT || errno == ENOTDIR ? IOB_EINVAL : IOB_EIO,
                             "%s: %s", path, strerror(errno));
    iob_status st = iob_layers_read_stream(fp, path, list, err);
    fclose(fp);
    return st;
}

