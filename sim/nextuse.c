/* nextuse.c - next-use positions of an access stream, the input of Belady's OPT replacement.
 *
 * next[i] = min { j > i : line(ops[j]) == line(ops[i]) }, or IOB_NEXT_USE_NEVER.
 * One backward pass computes it: walking from the end, a table indexed by line number holds the
 * position where each line was seen last (the next use of the access being visited).
 *
 * Streaming (a large layer's stream does not fit in memory): pass 1 appends the line number of
 * every access to an unlinked temporary file (8 bytes per access, buffered); finish() walks the
 * file backwards in chunks of IOB_NEXTUSE_CHUNK entries, replacing each line number by its next
 * use in place; pass 2 reads the positions forward while the caller regenerates the same stream.
 * Memory: the buffer (8 MiB) and the table, 8 bytes per line of the address range the stream
 * spans (a trace's tensors are packed at 2 MiB-aligned addresses, trace.h, so that is about the
 * footprint / 16 for 128-byte lines: 64 MiB for a 1 GiB footprint).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iobound/sim.h"

struct iob_nextuse {
    int line_shift;
    int fd;
    int state; /* 0 = pushing, 1 = reading */
    uint64_t count;
    uint64_t min_line, max_line;
    uint64_t *buf;
    size_t fill;       /* pass 1: entries buffered; pass 2: entries in buf */
    size_t pos;        /* pass 2: next entry of buf to hand out */
    uint64_t read_at;  /* pass 2: entries read from the file so far */
};

static int shift_of(int line_bytes)
{
    int s = 0;
    while ((1 << s) < line_bytes)
        s++;
    return s;
}

/* Visits vals[n-1] .. vals[0] (positions pos0 + i), replacing each by its next use. vals hold
 * line numbers (shift 0) or addresses (shift = log2 line); table[line - min] is the last position
 * seen. In place: out may be vals. */
static void backward(const uint64_t *vals, uint64_t *out, size_t n, uint64_t pos0, int shift,
                     uint64_t min_line, uint64_t *table)
{
    for (size_t i = n; i-- > 0;) {
        uint64_t l = (vals[i] >> shift) - min_line;
        uint64_t nx = table[l];
        table[l] = pos0 + i;
        out[i] = nx;
    }
}

static iob_status table_alloc(uint64_t min_line, uint64_t max_line, uint64_t **table,
                              iob_error *err)
{
    uint64_t lines = max_line - min_line + 1;
    if (lines == 0 || lines > IOB_NEXTUSE_TABLE_MAX / sizeof(uint64_t))
        return iob_error_set(err, IOB_ENOMEM,
                             "OPT: the stream spans %llu lines; the next-use table is limited to "
                             "%zu MiB",
                             (unsigned long long)(max_line - min_line) + 1,
                             IOB_NEXTUSE_TABLE_MAX >> 20);
    uint64_t *t = malloc((size_t)lines * sizeof *t);
    if (!t)
        return iob_error_set(err, IOB_ENOMEM, "OPT: out of memory for a next-use table of %llu "
                             "lines", (unsigned long long)lines);
    for (uint64_t i = 0; i < lines; i++)
        t[i] = IOB_NEXT_USE_NEVER;
    *table = t;
    return IOB_OK;
}

iob_status iob_nextuse_compute(const uint64_t *ops, size_t n, int line_bytes, uint64_t *next,
                               iob_error *err)
{
    if (line_bytes < 1 || (line_bytes & (line_bytes - 1)))
        return iob_error_set(err, IOB_EINVAL, "OPT: line of %d bytes is not a power of two",
                             line_bytes);
    if (n == 0)
        return IOB_OK;
    int shift = shift_of(line_bytes);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t l = ops[i] >> shift;
        lo = l < lo ? l : lo;
        hi = l > hi ? l : hi;
    }
    uint64_t *table;
    iob_status st = table_alloc(lo, hi, &table, err);
    if (st)
        return st;
    backward(ops, next, n, 0, shift, lo, table);
    free(table);
    return IOB_OK;
}

iob_status iob_nextuse_open(int line_bytes, const char *tmp_dir, iob_nextuse **out,
                            iob_error *err)
{
    *out = NULL;
    if (line_bytes < 1 || (line_bytes & (line_bytes - 1)))
        return iob_error_set(err, IOB_EINVAL, "OPT: line of %d bytes is not a power of two",
                             line_bytes);
    if (!tmp_dir || !*tmp_dir)
        tmp_dir = getenv("TMPDIR");
    if (!tmp_dir || !*tmp_dir)
        tmp_dir = "/tmp";
    iob_nextuse *nu = calloc(1, sizeof *nu);
    if (nu)
        nu->buf = malloc(IOB_NEXTUSE_CHUNK * sizeof *nu->buf);
    if (!nu || !nu->buf) {
        if (nu)
            free(nu);
        return iob_error_set(err, IOB_ENOMEM, "OPT: out of memory for the next-use buffer");
    }
    size_t plen = strlen(tmp_dir) + 32;
    char *path = malloc(plen);
    if (!path) {
        free(nu->buf);
        free(nu);
        return iob_error_set(err, IOB_ENOMEM, "OPT: out of memory");
    }
    snprintf(path, plen, "%s/iobound-opt-XXXXXX", tmp_dir);
    nu->fd = mkstemp(path);
    if (nu->fd < 0) {
        iob_error_set(err, IOB_EIO, "OPT: cannot create a temporary file in %s: %s", tmp_dir,
                      strerror(errno));
        free(path);
        free(nu->buf);
        free(nu);
        return IOB_EIO;
    }
    unlink(path); /* the file lives as long as the descriptor */
    free(path);
    nu->line_shift = shift_of(line_bytes);
    nu->min_line = UINT64_MAX;
    *out = nu;
    return IOB_OK;
}

static iob_status xfer(iob_nextuse *nu, int write, uint64_t *buf, size_t n, uint64_t at,
                       iob_error *err)
{
    char *p = (char *)buf;
    size_t left = n * sizeof *buf;
    off_t off = (off_t)(at * sizeof *buf);
    while (left) {
        ssize_t k = write ? pwrite(nu->fd, p, left, off) : pread(nu->fd, p, left, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return iob_error_set(err, IOB_EIO, "OPT: %s of the next-use file failed: %s",
                                 write ? "write" : "read", k < 0 ? strerror(errno) : "short");
        p += k;
        left -= (size_t)k;
        off += k;
    }
    return IOB_OK;
}

iob_status iob_nextuse_push(iob_nextuse *nu, const uint64_t *ops, size_t n, iob_error *err)
{
    if (nu->state != 0)
        return iob_error_set(err, IOB_EINVAL, "OPT: push after finish");
    for (size_t i = 0; i < n; i++) {
        uint64_t l = ops[i] >> nu->line_shift;
        nu->min_line = l < nu->min_line ? l : nu->min_line;
        nu->max_line = l > nu->max_line ? l : nu->max_line;
        nu->buf[nu->fill++] = l;
        if (nu->fill == IOB_NEXTUSE_CHUNK) {
            iob_status st = xfer(nu, 1, nu->buf, nu->fill, nu->count, err);
            if (st)
                return st;
            nu->count += nu->fill;
            nu->fill = 0;
        }
    }
    return IOB_OK;
}

iob_status iob_nextuse_finish(iob_nextuse *nu, iob_error *err)
{
    if (nu->state != 0)
        return iob_error_set(err, IOB_EINVAL, "OPT: finish called twice");
    iob_status st;
    if (nu->fill) {
        if ((st = xfer(nu, 1, nu->buf, nu->fill, nu->count, err)))
            return st;
        nu->count += nu->fill;
        nu->fill = 0;
    }
    nu->state = 1;
    if (nu->count == 0)
        return IOB_OK;
    uint64_t *table;
    if ((st = table_alloc(nu->min_line, nu->max_line, &table, err)))
        return st;
    for (uint64_t hi = nu->count; hi > 0;) {
        uint64_t lo = hi > IOB_NEXTUSE_CHUNK ? hi - IOB_NEXTUSE_CHUNK : 0;
        size_t n = (size_t)(hi - lo);
        if ((st = xfer(nu, 0, nu->buf, n, lo, err)))
            break;
        backward(nu->buf, nu->buf, n, lo, 0, nu->min_line, table);
        if ((st = xfer(nu, 1, nu->buf, n, lo, err)))
            break;
        hi = lo;
    }
    free(table);
    return st;
}

iob_status iob_nextuse_read(iob_nextuse *nu, uint64_t *next, size_t n, iob_error *err)
{
    if (nu->state != 1)
        return iob_error_set(err, IOB_EINVAL, "OPT: read before finish");
    while (n) {
        if (nu->pos == nu->fill) {
            uint64_t left = nu->count - nu->read_at;
            if (left == 0)
                return iob_error_set(err, IOB_EINVAL, "OPT: the second pass is longer than the "
                                     "first (%llu accesses): the stream is not deterministic",
                                     (unsigned long long)nu->count);
            size_t k = left < IOB_NEXTUSE_CHUNK ? (size_t)left : IOB_NEXTUSE_CHUNK;
            iob_status st = xfer(nu, 0, nu->buf, k, nu->read_at, err);
            if (st)
                return st;
            nu->read_at += k;
            nu->fill = k;
            nu->pos = 0;
        }
        size_t k = nu->fill - nu->pos < n ? nu->fill - nu->pos : n;
        memcpy(next, nu->buf + nu->pos, k * sizeof *next);
        nu->pos += k;
        next += k;
        n -= k;
    }
    return IOB_OK;
}

uint64_t iob_nextuse_count(const iob_nextuse *nu)
{
    return nu->count + (nu->state == 0 ? nu->fill : 0);
}

void iob_nextuse_close(iob_nextuse *nu)
{
    if (!nu)
        return;
    close(nu->fd);
    free(nu->buf);
    free(nu);
}
