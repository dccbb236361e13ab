/* recfile.c - a record file that sweeps append to, record by record, safely (docs/validate.md,
 * "Resume and locking"; DESIGN.md, "Faults and files").
 *
 * - Every record is one line written with a single write() on an O_APPEND descriptor and made
 *   durable with fdatasync() before the next one starts: a sweep killed at any moment loses at
 *   most the record it was writing, and that one only as a torn last line.
 * - Writers hold an exclusive flock() while they append, so two processes never interleave
 *   lines; before appending, a writer truncates a torn last line another process left, and
 *   reads the records appended since its last look, so that a record finished by two processes
 *   is written once.
 * - The resume key of a record is layer_spec, algo and config (iob_record_key); the keys of the
 *   file live in an open-addressing hash set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "iobound/validate.h"

/* ---- a set of strings (open addressing, FNV-1a, load <= 1/2) ------------------------------- */

typedef struct keyset {
    char **slot;
    size_t cap, count;
} keyset;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int keyset_has(const keyset *k, const char *key)
{
    if (!k->cap)
        return 0;
    for (size_t i = fnv1a(key) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        if (!k->slot[i])
            return 0;
        if (!strcmp(k->slot[i], key))
            return 1;
    }
}

static int keyset_grow(keyset *k)
{
    size_t cap = k->cap ? 2 * k->cap : 1024;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t j = 0; j < k->cap; j++) {
        if (!k->slot[j])
            continue;
        size_t i = fnv1a(k->slot[j]) & (cap - 1);
        while (slot[i])
            i = (i + 1) & (cap - 1);
        slot[i] = k->slot[j];
    }
    free(k->slot);
    k->slot = slot;
    k->cap = cap;
    return 0;
}

/* Adds key (copied); 0 on success or when already there, -1 out of memory. */
static int keyset_add(keyset *k, const char *key)
{
    if (keyset_has(k, key))
        return 0;
    if (2 * (k->count + 1) > k->cap && keyset_grow(k))
        return -1;
    char *copy = strdup(key);
    if (!copy)
        return -1;
    size_t i = fnv1a(key) & (k->cap - 1);
    while (k->slot[i])
        i = (i + 1) & (k->cap - 1);
    k->slot[i] = copy;
    k->count++;
    return 0;
}

static void keyset_free(keyset *k)
{
    for (size_t i = 0; i < k->cap; i++)
        free(k->slot[i]);
    free(k->slot);
    memset(k, 0, sizeof *k);
}

/* ---- the file ------------------------------------------------------------------------------- */

struct iob_recfile {
    int fd;
    char *path;
    iob_record_format fmt;
    char machine[64];   /* "" = not checked */
    int64_t known;      /* bytes of complete lines already read (or written) by us */
    int have_start;     /* the header (CSV) or the first record (JSONL) has been seen */
    keyset keys;
    size_t count;
    int64_t repaired;
};

static iob_status sys_error(iob_error *err, const iob_recfile *f, const char *what)
{
    return iob_error_set(err, IOB_EIO, "%s: %s: %s", f->path, what, strerror(errno));
}

/* The first field of this version's records that a JSON Lines record (one line, len bytes)
 * lacks, or NULL when it has them all (or is not JSON: the parser reports that). A file written
 * by an older iobound lacks the newer columns; appending to it would mix records whose columns
 * mean different things (meas_l2_read_bytes was the L2 side's count before the SM side's). */
static const char *json_missing_field(const char *line, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    const char *missing = NULL;
    if (o && cJSON_IsObject(o))
        for (int i = 0; i < iob_record_field_count() && !missing; i++)
            if (!cJSON_GetObjectItemCaseSensitive(o, iob_record_field_name(i)))
                missing = iob_record_field_name(i);
    cJSON_Delete(o);
    return missing;
}

/* Reads [f->known, end of file) and takes in its complete lines: keys, format and header
 * checks. Sets *torn to the number of bytes of an unterminated last line. */
static iob_status take_in_tail(iob_recfile *f, int64_t *torn, iob_error *err)
{
    *torn = 0;
    struct stat sb;
    if (fstat(f->fd, &sb))
        return sys_error(err, f, "stat");
    if (sb.st_size < f->known) { /* someone truncated the file under us: read it all again */
        f->known = 0;
        f->have_start = 0;
    }
    int64_t n = (int64_t)sb.st_size - f->known;
    if (n == 0)
        return IOB_OK;
    int had_start = f->have_start;
    char *text = malloc((size_t)n + 1);
    if (!text)
        return iob_error_set(err, IOB_ENOMEM, "%s: out of memory", f->path);
    int64_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, text + got, (size_t)(n - got), (off_t)(f->known + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(text);
            return r < 0 ? sys_error(err, f, "read") : IOB_OK;
        }
        got += r;
    }
    iob_status st = IOB_OK;
    iob_record_list list = {0};
    const char *header = iob_record_csv_header();
    /* The start of the file: a CSV file must begin (after '#' comments) with exactly our
     * header, so that appended rows line up with its columns. */
    if (!f->have_start) {
        int64_t pos = 0;
        while (pos < n) {
            const char *nl = memchr(text + pos, '\n', (size_t)(n - pos));
            if (!nl)
                break;
            int64_t len = nl - (text + pos);
            const char *line = text + pos;
            if (len && line[len - 1] == '\r')
                len--;
            if (len == 0 || line[0] == '#') {
                pos = nl - text + 1;
                continue;
            }
            int is_json = line[0] == '{';
            const char *missing = is_json ? json_missing_field(line, (size_t)len) : NULL;
            if (is_json != (f->fmt == IOB_RECFMT_JSONL))
                st = iob_error_set(err, IOB_EINVAL, "%s holds %s records, not %s: use "
                                   "--format %s or another file", f->path,
                                   is_json ? "JSON Lines" : "CSV",
                                   f->fmt == IOB_RECFMT_JSONL ? "JSON Lines" : "CSV",
                                   is_json ? "jsonl" : "csv");
            else if (!is_json && ((size_t)len != strlen(header) || memcmp(line, header, (size_t)len)))
                st = iob_error_set(err, IOB_EINVAL, "%s: the CSV header differs from this "
                                   "iobound's record header (another version?): write to a "
                                   "new file", f->path);
            else if (missing)
                st = iob_error_set(err, IOB_EINVAL, "%s: its records lack the key '%s' of this "
                                   "iobound's records (another version?): write to a new file",
                                   f->path, missing);
            f->have_start = 1;
            break;
        }
    }
    if (!st) {
        /* a tail starting mid-file has no header: parse it as JSONL, or as CSV rows under our
         * header */
        if (f->fmt == IOB_RECFMT_CSV && had_start) {
            size_t hl = strlen(header);
            char *with = malloc(hl + 1 + (size_t)n + 1);
            if (!with) {
                st = iob_error_set(err, IOB_ENOMEM, "%s: out of memory", f->path);
            } else {
                memcpy(with, header, hl);
                with[hl] = '\n';
                memcpy(with + hl + 1, text, (size_t)n);
                st = iob_records_parse(with, hl + 1 + (size_t)n, f->path, &list, err);
                list.good_bytes -= (int64_t)(hl + 1);
                free(with);
            }
        } else {
            st = iob_records_parse(text, (size_t)n, f->path, &list, err);
        }
    }
    free(text);
    char key[IOB_RECORD_SPEC_MAX + IOB_RECORD_CONFIG_MAX + 32];
    for (size_t i = 0; !st && i < list.count; i++) {
        const iob_record *r = &list.items[i];
        if (f->machine[0] && r->machine[0] && strcmp(r->machine, f->machine))
            st = iob_error_set(err, IOB_EINVAL, "%s holds records for machine '%s', this "
                               "sweep is for '%s': use another file", f->path, r->machine,
                               f->machine);
        iob_record_key(r, key, sizeof key);
        if (!st && keyset_add(&f->keys, key))
            st = iob_error_set(err, IOB_ENOMEM, "%s: out of memory", f->path);
        f->count++;
    }
    if (!st) {
        f->known += list.good_bytes;
        *torn = list.torn_bytes;
    }
    iob_record_list_free(&list);
    return st;
}

/* Under the exclusive lock: takes in the tail and truncates a torn last line. */
static iob_status sync_and_repair(iob_recfile *f, iob_error *err)
{
    int64_t torn;
    iob_status st = take_in_tail(f, &torn, err);
    if (st)
        return st;
    if (torn > 0) {
        if (ftruncate(f->fd, (off_t)f->known))
            return sys_error(err, f, "truncating a torn last line");
        f->repaired += torn;
    }
    return IOB_OK;
}

static iob_status write_all(iob_recfile *f, const char *buf, size_t n, iob_error *err)
{
    while (n) {
        ssize_t w = write(f->fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sys_error(err, f, "write");
        buf += w;
        n -= (size_t)w;
        f->known += w;
    }
    if (fdatasync(f->fd))
        return sys_error(err, f, "fdatasync");
    return IOB_OK;
}

static iob_status lock(iob_recfile *f, int how, iob_error *err)
{
    while (flock(f->fd, how)) {
        if (errno != EINTR)
            return sys_error(err, f, "flock");
    }
    return IOB_OK;
}

static void unlock(iob_recfile *f) { flock(f->fd, LOCK_UN); }

iob_status iob_recfile_open(const char *path, iob_record_format fmt, const char *machine,
                            iob_recfile **out, iob_error *err)
{
    *out = NULL;
    iob_recfile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    f->fmt = fmt;
    if (machine)
        snprintf(f->machine, sizeof f->machine, "%s", machine);
    f->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        iob_status st = sys_error(err, f, "open");
        free(f->path);
        free(f);
        return st;
    }
    iob_status st = lock(f, LOCK_EX, err);
    if (!st)
        st = sync_and_repair(f, err);
    if (!st && fmt == IOB_RECFMT_CSV && !f->have_start) {
        /* no header yet (an empty file, or only comments): write it */
        const char *h = iob_record_csv_header();
        size_t hl = strlen(h);
        char *line = malloc(hl + 2);
        if (!line) {
            st = iob_error_set(err, IOB_ENOMEM, "out of memory");
        } else {
            memcpy(line, h, hl);
            memcpy(line + hl, "\n", 2);
            st = write_all(f, line, hl + 1, err);
            free(line);
            f->have_start = 1;
        }
    }
    unlock(f);
    if (st) {
        iob_recfile_close(f);
        return st;
    }
    *out = f;
    return IOB_OK;
}

size_t iob_recfile_count(const iob_recfile *f) { return f->count; }
int64_t iob_recfile_repaired_bytes(const iob_recfile *f) { return f->repaired; }
int iob_recfile_fd(const iob_recfile *f) { return f->fd; }

int iob_recfile_has(iob_recfile *f, const char *key, int refresh)
{
    if (refresh && !lock(f, LOCK_SH, NULL)) {
        int64_t torn;
        take_in_tail(f, &torn, NULL); /* an unreadable tail leaves the set as it was */
        unlock(f);
    }
    return keyset_has(&f->keys, key);
}

iob_status iob_recfile_append(iob_recfile *f, const iob_record *r, int *written, iob_error *err)
{
    *written = 0;
    char *line;
    iob_status st = iob_record_to_line(r, f->fmt, &line, err);
    if (st)
        return st;
    char key[IOB_RECORD_SPEC_MAX + IOB_RECORD_CONFIG_MAX + 32];
    iob_record_key(r, key, sizeof key);
    st = lock(f, LOCK_EX, err);
    if (!st)
        st = sync_and_repair(f, err);
    if (!st && !keyset_has(&f->keys, key)) {
        st = write_all(f, line, strlen(line), err);
        if (!st) {
            if (keyset_add(&f->keys, key))
                st = iob_error_set(err, IOB_ENOMEM, "out of memory");
            f->count++;
            *written = 1;
        }
    }
    unlock(f);
    free(line);
    return st;
}

void iob_recfile_close(iob_recfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    keyset_free(&f->keys);
    free(f->path);
    free(f);
}
