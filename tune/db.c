/* db.c - the tuning database: one JSON file per device holding the winning config of each layer.
 *
 * File (docs/tune.md, "The tuning database"):
 *   {"format": "iobound-tune", "version": 1, "device": "NVIDIA H100 80GB HBM3", "sm": "90",
 *    "entries": [{"layer": SPEC, "name": NAME, "config": CONFIG, "time_ms": T,
 *                 "cudnn_fp32_ms": T|null, "cudnn_tf32_ms": T|null, "measured": N,
 *                 "feasible": N, "tune_s": S, "date": "2026-11-23T10:00:00Z",
 *                 "kernel_hash": "16 hex digits"}, ...]}
 * SPEC is the layer's canonical shape (iob_layer_format without the name): two layers of one
 * shape share an entry. An entry whose kernel_hash differs from the build's is stale.
 *
 * Writers: an exclusive flock on "<file>.lock" (a separate file, because the data file itself
 * is replaced by rename and a lock on the old inode would not exclude the next writer), then
 * read-merge-write to a temporary file in the same folder, fsync, rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gpu/host_kernels.h"
#include "iobound/tune.h"
#include "tune/tune_internal.h"

#define DB_FORMAT "iobound-tune"
#define DB_VERSION 1
#define DB_MAX_BYTES (64L << 20)

void iob_tune_hash_files(const iob_kernel_file *files, int n, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
    const uint64_t prime = 0x100000001b3ULL;
    for (int i = 0; i < n; i++) {
        const iob_kernel_file *f = &files[i];
        for (const char *p = f->name; *p; p++)
            h = (h ^ (unsigned char)*p) * prime;
        h = (h ^ 0u) * prime; /* separates the name from the text */
        for (size_t j = 0; j < f->size; j++)
            h = (h ^ (unsigned char)f->source[j]) * prime;
        h = (h ^ 0u) * prime;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void iob_tune_kernel_hash(char out[17])
{
    iob_tune_hash_files(iob_kernel_files, iob_kernel_file_count, out);
}

int iob_tune_layer_key(const iob_layer *L, char *buf, size_t size)
{
    iob_layer shape = *L;
    shape.name[0] = '\0';
    return iob_layer_format(&shape, buf, size);
}

iob_status iob_tune_db_path(const iob_machine *m, int from_device, char *buf, size_t size,
                            iob_error *err)
{
    char id[160];
    if (from_device)
        snprintf(id, sizeof id, "%s-sm%d%d", m->name, m->cc_major, m->cc_minor);
    else
        snprintf(id, sizeof id, "%s", m->name);
    /* a file name from a device name: runs of other characters become one '-' */
    char clean[160];
    size_t j = 0;
    for (const char *p = id; *p && j + 1 < sizeof clean; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (ok)
            clean[j++] = (char)c;
        else if (j && clean[j - 1] != '-')
            clean[j++] = '-';
    }
    clean[j] = '\0';
    if (!j || !strcmp(clean, ".") || !strcmp(clean, ".."))
        return iob_error_set(err, IOB_EINVAL, "machine name '%s' gives no file name", m->name);
    const char *dir = getenv("IOB_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int n;
    if (dir && *dir)
        n = snprintf(buf, size, "%s/tune-%s.json", dir, clean);
    else if (xdg && *xdg)
        n = snprintf(buf, size, "%s/iobound/tune-%s.json", xdg, clean);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.cache/iobound/tune-%s.json", home, clean);
    else
        return iob_error_set(err, IOB_EINVAL, "no cache folder: set IOB_CACHE_DIR, "
                             "XDG_CACHE_HOME or HOME, or give the database file");
    if (n < 0 || (size_t)n >= size)
        return iob_error_set(err, IOB_ERANGE, "the tuning database path is too long");
    return IOB_OK;
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct db_file {
    int exists;
    char device[128], sm[16];
    iob_tune_entry *entries;
    size_t count;
} db_file;

static void db_file_free(db_file *d)
{
    free(d->entries);
    memset(d, 0, sizeof *d);
}

static double num_or_nan(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int copy_str(const cJSON *o, const char *key, char *buf, size_t size, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) {
        buf[0] = '\0';
        return required ? -1 : 0;
    }
    if (strlen(v->valuestring) >= size)
        return -1;
    strcpy(buf, v->valuestring);
    return 0;
}

/* One entry; a one-line reason in why when it is not valid. */
static int parse_entry(const cJSON *o, iob_tune_entry *e, char *why, size_t size)
{
    memset(e, 0, sizeof *e);
    if (!cJSON_IsObject(o))
        return snprintf(why, size, "an entry is not an object"), -1;
    if (copy_str(o, "layer", e->layer, sizeof e->layer, 1) ||
        copy_str(o, "config", e->config, sizeof e->config, 1) ||
        copy_str(o, "kernel_hash", e->kernel_hash, sizeof e->kernel_hash, 1) ||
        copy_str(o, "name", e->name, sizeof e->name, 0) ||
        copy_str(o, "date", e->date, sizeof e->date, 0))
        return snprintf(why, size, "an entry lacks layer, config or kernel_hash, or has a "
                        "field too long"), -1;
    iob_layer L;
    iob_config cfg;
    iob_error err;
    if (iob_layer_parse(e->layer, &L, &err) || iob_config_parse(e->config, &cfg, &err))
        return snprintf(why, size, "entry '%.100s': %.180s", e->layer, err.msg), -1;
    e->time_ms = num_or_nan(o, "time_ms");
    if (!(e->time_ms > 0))
        return snprintf(why, size, "entry '%.200s' has no positive time_ms", e->layer), -1;
    e->cudnn_fp32_ms = num_or_nan(o, "cudnn_fp32_ms");
    e->cudnn_tf32_ms = num_or_nan(o, "cudnn_tf32_ms");
    double v = num_or_nan(o, "measured");
    e->measured = isnan(v) ? -1 : (long)v;
    v = num_or_nan(o, "feasible");
    e->feasible = isnan(v) ? -1 : (long)v;
    e->tune_s = num_or_nan(o, "tune_s");
    return 0;
}

/* Reads path into d. A missing file is an empty database (d->exists = 0). IOB_EINVAL: not a
 * database (message names the file and why); IOB_EIO; IOB_ENOMEM. */
static iob_status db_load(const char *path, db_file *d, iob_error *err)
{
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return IOB_OK;
        return iob_error_set(err, IOB_EIO, "%s: %s", path, strerror(errno));
    }
    d->exists = 1;
    char *text = malloc(DB_MAX_BYTES + 1);
    if (!text) {
        fclose(fp);
        return iob_error_set(err, IOB_ENOMEM, "out of memory reading %s", path);
    }
    size_t n = fread(text, 1, DB_MAX_BYTES + 1, fp);
    int bad_read = ferror(fp);
    fclose(fp);
    if (bad_read) {
        free(text);
        return iob_error_set(err, IOB_EIO, "%s: read error", path);
    }
    if (n > DB_MAX_BYTES) {
        free(text);
        return iob_error_set(err, IOB_EINVAL, "%s: not a tuning database (larger than %ld MiB)",
                             path, DB_MAX_BYTES >> 20);
    }
    text[n] = '\0';
    char why[300] = "";
    cJSON *root = memchr(text, '\0', n) ? NULL : cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        snprintf(why, sizeof why, "malformed JSON near byte %ld",
                 at && at >= text && at <= text + n ? (long)(at - text) : 0L);
    }
    free(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *ents = cJSON_GetObjectItemCaseSensitive(root, "entries");
    if (root && !why[0]) {
        if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, DB_FORMAT))
            snprintf(why, sizeof why, "no \"format\": \"%s\"", DB_FORMAT);
        else if (!cJSON_IsNumber(ver) || ver->valuedouble != DB_VERSION)
            snprintf(why, sizeof why, "version %g, expected %d",
                     cJSON_IsNumber(ver) ? ver->valuedouble : -1.0, DB_VERSION);
        else if (!cJSON_IsArray(ents))
            snprintf(why, sizeof why, "no \"entries\" array");
    }
    if (!why[0]) {
        copy_str(root, "device", d->device, sizeof d->device, 0);
        copy_str(root, "sm", d->sm, sizeof d->sm, 0);
        size_t count = (size_t)cJSON_GetArraySize(ents);
        d->entries = calloc(count ? count : 1, sizeof *d->entries);
        if (!d->entries) {
            cJSON_Delete(root);
            return iob_error_set(err, IOB_ENOMEM, "out of memory reading %s", path);
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, ents)
        {
            if (parse_entry(e, &d->entries[d->count], why, sizeof why))
                break;
            d->count++;
        }
    }
    cJSON_Delete(root);
    if (why[0]) {
        db_file_free(d);
        d->exists = 1;
        return iob_error_set(err, IOB_EINVAL, "%s: not a tuning database (%s)", path, why);
    }
    return IOB_OK;
}

iob_status iob_tune_db_read(const char *path, iob_tune_entry **entries, size_t *n,
                            iob_error *err)
{
    db_file d;
    *entries = NULL;
    *n = 0;
    iob_status st = db_load(path, &d, err);
    if (st)
        return st;
    *entries = d.entries;
    *n = d.count;
    return IOB_OK;
}

iob_status iob_tune_db_lookup(const char *path, const iob_layer *L, const char *kernel_hash,
                              iob_tune_entry *entry, iob_tune_db_state *state, iob_error *err)
{
    *state = IOB_TUNE_DB_MISS;
    char key[sizeof entry->layer];
    iob_tune_layer_key(L, key, sizeof key);
    db_file d;
    iob_status st = db_load(path, &d, err);
    if (st)
        return st;
    for (size_t i = 0; i < d.count; i++) {
        if (strcmp(d.entries[i].layer, key))
            continue;
        *entry = d.entries[i];
        *state = strcmp(d.entries[i].kernel_hash, kernel_hash) ? IOB_TUNE_DB_STALE
                                                                : IOB_TUNE_DB_HIT;
        break;
    }
    db_file_free(&d);
    return IOB_OK;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void utc_now(char *buf, size_t size, const char *fmt)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, fmt, &tm);
}

/* mkdir -p of the folder that holds path. */
static iob_status make_parent(const char *path, iob_error *err)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return iob_error_set(err, IOB_ERANGE, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return IOB_OK;
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0755) && errno != EEXIST)
                return iob_error_set(err, IOB_EIO, "cannot create folder %s: %s", dir,
                                     strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return IOB_OK;
}

static void add_num_or_null(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *db_json(const db_file *d)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", DB_FORMAT);
    cJSON_AddNumberToObject(root, "version", DB_VERSION);
    cJSON_AddStringToObject(root, "device", d->device);
    cJSON_AddStringToObject(root, "sm", d->sm);
    cJSON *arr = cJSON_AddArrayToObject(root, "entries");
    for (size_t i = 0; i < d->count; i++) {
        const iob_tune_entry *e = &d->entries[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "layer", e->layer);
        cJSON_AddStringToObject(o, "name", e->name);
        cJSON_AddStringToObject(o, "config", e->config);
        add_num_or_null(o, "time_ms", e->time_ms);
        add_num_or_null(o, "cudnn_fp32_ms", e->cudnn_fp32_ms);
        add_num_or_null(o, "cudnn_tf32_ms", e->cudnn_tf32_ms);
        cJSON_AddNumberToObject(o, "measured", (double)e->measured);
        cJSON_AddNumberToObject(o, "feasible", (double)e->feasible);
        add_num_or_null(o, "tune_s", e->tune_s);
        cJSON_AddStringToObject(o, "date", e->date);
        cJSON_AddStringToObject(o, "kernel_hash", e->kernel_hash);
        cJSON_AddItemToArray(arr, o);
    }
    return root;
}

/* Writes d to a temporary file beside path and renames it over path. */
static iob_status write_atomically(const char *path, const db_file *d, iob_error *err)
{
    cJSON *root = db_json(d);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return iob_error_set(err, IOB_ENOMEM, "out of memory writing %s", path);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        free(text);
        return iob_error_set(err, IOB_ERANGE, "path too long: %s", path);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(text);
        return iob_error_set(err, IOB_EIO, "cannot create a file beside %s: %s", path,
                             strerror(errno));
    }
    fchmod(fd, 0644); /* mkstemp makes it 0600; the database is shared like any cache file */
    size_t len = strlen(text), off = 0;
    int bad = 0;
    while (off < len && !bad) {
        ssize_t k = write(fd, text + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        bad = k <= 0;
        off += k > 0 ? (size_t)k : 0;
    }
    bad = bad || write(fd, "\n", 1) != 1 || fsync(fd);
    int saved = errno;
    bad = close(fd) || bad;
    free(text);
    if (bad || rename(tmp, path)) {
        if (!bad)
            saved = errno;
        unlink(tmp);
        return iob_error_set(err, IOB_EIO, "cannot write %s: %s", path, strerror(saved));
    }
    return IOB_OK;
}

static iob_status merge(db_file *d, const iob_tune_entry *in, size_t n, iob_error *err)
{
    iob_tune_entry *grown = realloc(d->entries, (d->count + n + 1) * sizeof *grown);
    if (!grown)
        return iob_error_set(err, IOB_ENOMEM, "out of memory merging %zu entries", n);
    d->entries = grown;
    char now[32];
    utc_now(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ");
    for (size_t i = 0; i < n; i++) {
        iob_tune_entry e = in[i];
        if (!e.date[0])
            snprintf(e.date, sizeof e.date, "%s", now);
        size_t j;
        for (j = 0; j < d->count; j++)
            if (!strcmp(d->entries[j].layer, e.layer))
                break;
        d->entries[j] = e;
        if (j == d->count)
            d->count++;
    }
    return IOB_OK;
}

iob_status iob_tune_db_store(const char *path, const char *device, const char *sm,
                             const iob_tune_entry *entries, size_t n, char *warning,
                             size_t warning_size, iob_error *err)
{
    if (warning && warning_size)
        warning[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        iob_layer L;
        iob_config cfg;
        iob_error e;
        if (iob_layer_parse(entries[i].layer, &L, &e) ||
            iob_config_parse(entries[i].config, &cfg, &e))
            return iob_error_set(err, IOB_EINVAL, "entry %zu: %s", i, e.msg);
        if (!(entries[i].time_ms > 0) || strlen(entries[i].kernel_hash) != 16)
            return iob_error_set(err, IOB_EINVAL, "entry %zu: no time or no kernel hash", i);
    }
    iob_status st = make_parent(path, err);
    if (st)
        return st;
    char lock[4200];
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock)
        return iob_error_set(err, IOB_ERANGE, "path too long: %s", path);
    /* O_CLOEXEC: a worker process started meanwhile must not inherit (and hold) the lock */
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0)
        return iob_error_set(err, IOB_EIO, "cannot open %s: %s", lock, strerror(errno));
    while (flock(lfd, LOCK_EX)) {
        if (errno != EINTR) {
            int saved = errno;
            close(lfd);
            return iob_error_set(err, IOB_EIO, "cannot lock %s: %s", lock, strerror(saved));
        }
    }
    db_file d;
    iob_error lerr;
    st = db_load(path, &d, &lerr);
    if (st == IOB_EINVAL) {
        /* never overwrite what we cannot read: keep it beside, under a name that says why */
        char aside[4300], stamp[32];
        utc_now(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
        snprintf(aside, sizeof aside, "%s.corrupt-%s", path, stamp);
        struct stat sb;
        for (int k = 2; stat(aside, &sb) == 0 && k < 1000; k++) /* one already set aside now */
            snprintf(aside, sizeof aside, "%s.corrupt-%s-%d", path, stamp, k);
        if (rename(path, aside)) {
            int saved = errno;
            close(lfd);
            return iob_error_set(err, IOB_EIO, "%s; and it cannot be moved aside: %s",
                                 lerr.msg, strerror(saved));
        }
        if (warning && warning_size)
            snprintf(warning, warning_size, "%s; moved it to %s and started a new database",
                     lerr.msg, aside);
        memset(&d, 0, sizeof d);
        st = IOB_OK;
    }
    if (st) {
        close(lfd);
        return iob_error_set(err, st, "%s", lerr.msg);
    }
    if (!d.device[0])
        snprintf(d.device, sizeof d.device, "%s", device ? device : "");
    if (!d.sm[0])
        snprintf(d.sm, sizeof d.sm, "%s", sm ? sm : "");
    st = merge(&d, entries, n, err);
    if (!st)
        st = write_atomically(path, &d, err);
    db_file_free(&d);
    close(lfd); /* releases the flock */
    return st;
}

iob_status iob_tune_db_config(const char *path, const iob_machine *m, int from_device,
                              const iob_layer *L, iob_config *cfg, iob_tune_entry *entry,
                              iob_error *err)
{
    char buf[4096];
    if (!path) {
        iob_status st = iob_tune_db_path(m, from_device, buf, sizeof buf, err);
        if (st)
            return st;
        path = buf;
    }
    char hash[17];
    iob_tune_kernel_hash(hash);
    iob_tune_entry e;
    iob_tune_db_state state;
    iob_status st = iob_tune_db_lookup(path, L, hash, &e, &state, err);
    if (st)
        return st;
    char spec[512];
    iob_tune_layer_key(L, spec, sizeof spec);
    if (state == IOB_TUNE_DB_MISS)
        return iob_error_set(err, IOB_ENOTSUP, "no tuned config for this layer in %s (run "
                             "`iobound tune --layer %s` first)", path, spec);
    if (state == IOB_TUNE_DB_STALE)
        return iob_error_set(err, IOB_ENOTSUP, "the tuned config for this layer in %s was "
                             "measured on %s with other kernel sources; run `iobound tune` "
                             "again", path, e.date[0] ? e.date : "an unknown date");
    st = iob_config_parse(e.config, cfg, err);
    if (st)
        return iob_error_prefix(err, "%s", path);
    if (entry)
        *entry = e;
    return IOB_OK;
}
