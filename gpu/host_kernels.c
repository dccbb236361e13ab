/* host_kernels.c - lookup in the table of embedded kernel sources. */
#include "gpu/host_kernels.h"

#include <string.h>

#include "iobound/gpu.h"

const iob_kernel_file *iob_kernel_file_find(const char *name)
{
    for (int i = 0; i < iob_kernel_file_count; i++)
        if (!strcmp(iob_kernel_files[i].name, name))
            return &iob_kernel_files[i];
    return NULL;
}

int iob_gpu_kernel_file_count(void) { return iob_kernel_file_count; }

const char *iob_gpu_kernel_file(int i, size_t *bytes)
{
    if (i < 0 || i >= iob_kernel_file_count)
        return NULL;
    if (bytes)
        *bytes = iob_kernel_files[i].size;
    return iob_kernel_files[i].name;
}
