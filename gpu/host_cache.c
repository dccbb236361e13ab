/* host_cache.c - the on-disk kernel cache: folder resolution, keys (SHA-256 of every compilation
 * input, host_cache.h) and atomic file I/O (temporary file + rename, POSIX rename(2) being atomic
 * within one file system). */
#include "gpu/host_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/host_kernels.h"
#include "gpu/host_sha256.h"

/* Bumped when the layout of a cached entry or of the key changes. */
#define CACHE_FORMAT "iobound-cubin-1"

iob_status iob_cache_dir(char *buf, size_t size, iob_error *err)
{
    const char *d = getenv("IOB_CACHE_DIR");
    int n;
    if (d && *d)
        n = snprintf(buf, size, "%s", d);
    else if ((d = getenv("XDG_CACHE_HOME")) && *d)
        n = snprintf(buf, size, "%s/iobound", d);
    else if ((d = getenv("HOME")) && *d)
        n = snprintf(buf, size, "%s/.cache/iobound", d);
    else
        return iob_error_set(err, IOB_EINVAL, "no kernel cache folder: set IOB_CACHE_DIR, "
                             "XDG_CACHE_HOME or HOME");
    if (n < 0 || (size_t)n >= size)
        return iob_error_set(err, IOB_EINVAL, "kernel cache folder path too long");
    return IOB_OK;
}

static int is_header(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".cuh");
}

iob_status iob_cache_key(const char *file, const char *const *options, int noptions, int arch,
                         int nvrtc_major, int nvrtc_minor, char key[65], iob_error *err)
{
    const iob_kernel_file *kf = iob_kernel_file_find(file);
    if (!kf)
        return iob_error_set(err, IOB_EINVAL, "kernel file '%s' is not embedded in this build",
                             file);
    iob_sha256 s;
    iob_sha256_init(&s);
    char head[128];
    int n = snprintf(head, sizeof head, "%s nvrtc=%d.%d arch=%d", CACHE_FORMAT, nvrtc_major,
                     nvrtc_minor, arch);
    iob_sha256_field(&s, head, (size_t)n);
    for (int i = 0; i < noptions; i++)
        iob_sha256_field(&s, options[i], strlen(options[i]));
    iob_sha256_field(&s, "--", 2);
    iob_sha256_field(&s, kf->name, strlen(kf->name));
    iob_sha256_field(&s, kf->source, kf->size);
    /* every header that the file could include, in the table's (sorted) order */
    for (int i = 0; i < iob_kernel_file_count; i++)
        if (is_header(iob_kernel_files[i].name)) {
            iob_sha256_field(&s, iob_kernel_files[i].name, strlen(iob_kernel_files[i].name));
            iob_sha256_field(&s, iob_kernel_files[i].source, iob_kernel_files[i].size);
        }
    uint8_t d[32];
    iob_sha256_final(&s, d);
    iob_sha256_hex(d, key);
    return IOB_OK;
}

int iob_cache_read(const char *dir, const char *key, void **data, size_t *size)
{
    char path[IOB_CACHE_PATH_MAX];
    *data = NULL;
    *size = 0;
    if (snprintf(path, sizeof path, "%s/%s.cubin", dir, key) >= (int)sizeof path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ok = 0;
    long len = -1;
    if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET)) {
        void *buf = malloc((size_t)len);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            *data = buf;
            *size = (size_t)len;
            ok = 1;
        } else {
            free(buf);
        }
    }
    fclose(f);
    return ok;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char tmp[IOB_CACHE_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

iob_status iob_cache_write(const char *dir, const char *key, const void *data, size_t size,
                           iob_error *err)
{
    char path[IOB_CACHE_PATH_MAX], tmp[IOB_CACHE_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s.cubin", dir, key) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, key) >= (int)sizeof tmp)
        return iob_error_set(err, IOB_EIO, "kernel cache path too long");
    if (make_dirs(dir))
        return iob_error_set(err, IOB_EIO, "kernel cache %s: %s", dir, strerror(errno));
    int fd = mkstemp(tmp);
    if (fd < 0)
        return iob_error_set(err, IOB_EIO, "kernel cache %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = size;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return iob_error_set(err, IOB_EIO, "kernel cache %s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return iob_error_set(err, IOB_EIO, "kernel cache %s: %s", path, strerror(e));
    }
    return IOB_OK;
}
