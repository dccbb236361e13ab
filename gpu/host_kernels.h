/* host_kernels.h - the CUDA kernel sources embedded in the library at build time
 * (cmake/embed_kernels.cmake writes the table from gpu/kernels/). */
#ifndef IOB_GPU_HOST_KERNELS_H
#define IOB_GPU_HOST_KERNELS_H

#include <stddef.h>

typedef struct iob_kernel_file {
    const char *name;   /* "direct.cu" */
    const char *source; /* NUL-terminated text */
    size_t size;        /* bytes, NUL excluded */
} iob_kernel_file;

extern const iob_kernel_file iob_kernel_files[];
extern const int iob_kernel_file_count;

/* The embedded file called name, or NULL. */
const iob_kernel_file *iob_kernel_file_find(const char *name);

#endif
