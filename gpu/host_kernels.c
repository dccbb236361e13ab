/* host_kernels.c - lookup in the table of embedded kernel sources. */
#include "gpu/host_kernels.h"

#include <string.h>

const iob_kernel_file *iob_kernel_file_find(const char *name)
{
    for (int i = 0; i < iob_kernel_file_count; i++)
        if (!strcmp(iob_kernel_files[i].name, name))
            return &iob_kernel_files[i];
    return NULL;
}
