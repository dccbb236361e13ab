/* host_cache.h - the on-disk cache of compiled kernels: its folder, its keys, atomic reads and
 * writes (internal to gpu/; pure C, tested without CUDA).
 *
 * A cubin is stored as <dir>/<key>.cubin where key = SHA-256 of every input of the compilation:
 * a format tag, the NVRTC version, the target architecture, the option list, the entry file's
 * name and text, and the name and text of every embedded header (*.cuh) - so editing a header,
 * changing a macro or upgrading NVRTC can never reuse a stale cubin.
 */
#ifndef IOB_GPU_HOST_CACHE_H
#define IOB_GPU_HOST_CACHE_H

#include <stddef.h>

#include "iobound/status.h"

#define IOB_CACHE_PATH_MAX 4096

/* The cache folder: $IOB_CACHE_DIR, else $XDG_CACHE_HOME/iobound, else $HOME/.cache/iobound.
 * Does not create it. IOB_EINVAL when none of the variables is set (or a path is too long). */
iob_status iob_cache_dir(char *buf, size_t size, iob_error *err);

/* The key of one compilation. `file` is the entry file's name in gpu/kernels (its text and all
 * embedded headers are looked up in the embedded table), `options` the NVRTC options in order,
 * `arch` the SM version (90 = sm_90). IOB_EINVAL when the file is not embedded. */
iob_status iob_cache_key(const char *file, const char *const *options, int noptions, int arch,
                         int nvrtc_major, int nvrtc_minor, char key[65], iob_error *err);

/* Reads <dir>/<key>.cubin into a malloc'ed buffer (*data, *size). Returns 1 on a hit, 0 when
 * the file is absent or unreadable (a cache miss is never an error). */
int iob_cache_read(const char *dir, const char *key, void **data, size_t *size);

/* Writes <dir>/<key>.cubin atomically: creates dir (and parents) if needed, writes a temporary
 * file in dir and renames it, so a reader never sees a partial file and concurrent writers of
 * the same key are harmless. IOB_EIO with the path and the system's reason on failure. */
iob_status iob_cache_write(const char *dir, const char *key, const void *data, size_t size,
                           iob_error *err);

#endif
