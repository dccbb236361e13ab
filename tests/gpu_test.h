/* gpu_test.h - helpers shared by the tests of the GPU module (include after <cmocka.h>). */
#ifndef IOB_TESTS_GPU_TEST_H
#define IOB_TESTS_GPU_TEST_H

#include <string.h>

#include "iobound/gpu.h"

/* A layer from a spec that must parse (the test fails otherwise). */
static inline iob_layer layer(const char *spec)
{
    iob_layer L;
    iob_error err = {0};
    if (iob_layer_parse(spec, &L, &err))
        fail_msg("'%s': %s", spec, err.msg);
    return L;
}

/* A reference-path target. */
static inline iob_gpu_target ref_target(iob_gpu_ref r)
{
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_REF;
    t.ref = r;
    return t;
}

#endif
