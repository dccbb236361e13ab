/* stub.c - the GPU module's entry points in a build without CUDA (IOB_WITH_CUDA off): each says
 * so in one line, so that the CLI and the library need no #ifdef. */
#include "iobound/gpu.h"

int iob_gpu_built(void) { return 0; }

iob_status iob_gpu_available(iob_error *err)
{
    return iob_error_set(err, IOB_ENODEV, "this iobound was built without CUDA (IOB_WITH_CUDA=OFF)");
}

iob_status iob_machine_query_device(iob_machine *m, iob_error *err)
{
    (void)m;
    return iob_gpu_available(err);
}
