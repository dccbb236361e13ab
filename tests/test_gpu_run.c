/* test_gpu_run.c - checked, timed runs on the GPU (exit 77 = skipped without one): the naive
 * kernel on layers of every kind, full and sampled checks, the poison and perturbation paths,
 * im2col + cuBLAS, cuDNN's baselines and its output as a second reference, a layer that does not
 * fit, and a kernel fault that must become a sticky IOB_EGPU (in a child process, forked before
 * CUDA starts). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/gpu_test.h"

#include "iobound/gpu.h"

static iob_run_opts quick(void)
{
    iob_run_opts o;
    iob_run_opts_default(&o);
    o.warmup = 1;
    o.reps = 3;
    return o;
}

static const char *const layers[] = {
    "name=small,n=2,c=3,h=7,w=5,k=4,r=3,pad=1",
    "name=strided,n=1,c=4,h=9,k=6,r=3,stride=2,pad=1",
    "name=dilated,n=3,c=5,h=11,w=8,k=7,r=5,s=3,dil_h=2,pad_h=2,pad_w=1",
    "name=grouped,n=1,c=8,h=6,k=8,r=3,groups=4,pad=1",
    "name=1x1s3,n=2,c=6,h=8,k=3,r=1,stride=3",
    "name=asym,n=1,c=2,h=5,w=9,k=2,r=2,s=4,pad_top=0,pad_bottom=3,pad_left=2,pad_right=1",
    "name=conv1,n=2,c=3,h=224,k=64,r=7,stride=2,pad=3",
    "name=res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1",
    "name=odd_batch,n=5,c=33,h=13,w=17,k=31,r=3,pad=1",
};
#define NLAYERS (int)(sizeof layers / sizeof layers[0])

static void run_ok(const char *spec, iob_gpu_ref ref, double tol)
{
    iob_layer L = layer(spec);
    iob_gpu_target t = ref_target(ref);
    iob_run_opts o = quick();
    iob_run_result r;
    iob_error err = {0};
    iob_status st = iob_gpu_run_target(&L, &t, &o, &r, &err);
    if (st)
        fail_msg("%s on %s: %s", iob_gpu_ref_name(ref), spec, err.msg);
    iob_layer_counts c;
    iob_layer_counts_get(&L, &c, NULL);
    printf("  %-14s %-14s %9.4f ms  %7.3f TFLOP/s  max rel err %.2e (checked %lld)\n",
           iob_gpu_ref_name(ref), L.name, r.time_ms, r.tflops, r.max_rel_err,
           (long long)r.checked_elems);
    assert_true(r.max_rel_err <= tol);
    assert_true(r.max_rel_err >= 0);
    assert_int_equal(r.reps, 3);
    assert_true(r.time_ms > 0);
    assert_true(r.time_ms_min <= r.time_ms && r.time_ms <= r.time_ms_max);
    assert_true(r.tflops > 0);
    assert_true(r.device_bytes >= (int64_t)(4 * (c.input_elems + c.weight_elems + c.output_elems)));
    assert_true(r.max_rel_err_cudnn == -1);
    if (c.macs <= 400000000ULL)
        assert_int_equal(r.checked_elems, (int64_t)c.output_elems);
}

static void test_naive_layers(void **state)
{
    (void)state;
    for (int i = 0; i < NLAYERS; i++)
        run_ok(layers[i], IOB_GPU_REF_NAIVE, 1e-4);
}

static void test_im2col_cublas_layers(void **state)
{
    (void)state;
    for (int i = 0; i < NLAYERS; i++)
        run_ok(layers[i], IOB_GPU_REF_IM2COL_CUBLAS, 1e-4);
}

static void test_sampled_check(void **state)
{
    (void)state;
    /* 3.7 G MACs: above the full-check limit, checked at 20000 seeded outputs */
    iob_layer L = layer("name=big,n=8,c=256,h=28,k=256,r=3,pad=1");
    iob_gpu_target t = ref_target(IOB_GPU_REF_NAIVE);
    iob_run_opts o = quick();
    iob_run_result r;
    iob_error err = {0};
    if (iob_gpu_run_target(&L, &t, &o, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(r.checked_elems, 20000);
    assert_true(r.max_rel_err <= 1e-4);
    o.check_samples = 500;
    if (iob_gpu_run_target(&L, &t, &o, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(r.checked_elems, 500);
}

static void test_unwritten_output_is_caught(void **state)
{
    (void)state;
    iob_layer L = layer("n=1,c=4,h=32,k=8,r=3,pad=1");
    iob_plan p;
    iob_error err = {0};
    assert_int_equal(iob_plan_naive(&L, &p, &err), IOB_OK);
    p.launch[0].grid[0] /= 2; /* half the outputs keep the poison */
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_PLAN;
    t.plan = &p;
    iob_run_opts o = quick();
    iob_run_result r;
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "output elements not written"));
    assert_true(r.time_ms > 0);       /* the result is filled all the same */
    assert_true(isinf(r.max_rel_err));
    /* the same with a sampled reference: the scan runs on the device (gpu/kernels/check.cu) and
     * finds the same first unwritten element */
    char full_msg[sizeof err.msg];
    snprintf(full_msg, sizeof full_msg, "%s", err.msg);
    o.check_samples = 100;
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_ECHECK);
    assert_string_equal(err.msg, full_msg);
    assert_int_equal(r.checked_elems, 100);
}

static void test_wrong_value_is_caught(void **state)
{
    (void)state;
    iob_layer L = layer("n=1,c=4,h=16,k=8,r=3,pad=1");
    iob_plan p;
    iob_error err = {0};
    assert_int_equal(iob_plan_naive(&L, &p, &err), IOB_OK);
    assert_int_equal(iob_launch_define(&p.launch[0], "IOB_NAIVE_PERTURB", 1, &err), IOB_OK);
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_PLAN;
    t.plan = &p;
    iob_run_opts o = quick();
    iob_run_result r;
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "relative error"));
    assert_non_null(strstr(err.msg, "(n=0,k=0,p=0,q=0)"));
    assert_true(r.max_rel_err > 1e-3);
    /* a sampled reference (device-side gather) always holds the first output */
    o.check_samples = 50;
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "(n=0,k=0,p=0,q=0)"));
    o.check_samples = 0;
    /* without the check the same plan "passes": the check is what catches it */
    o.check = 0;
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_OK);
}

static void test_cudnn_baselines(void **state)
{
    (void)state;
    iob_layer L = layer("name=res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1");
    iob_cudnn_result res[32];
    int n = 0, fma_ok = 0, tf32_seen = 0;
    iob_error err = {0};
    iob_run_opts o = quick();
    if (iob_gpu_cudnn(&L, &o, res, 32, &n, &err))
        fail_msg("%s", err.msg);
    assert_true(n > 0);
    printf("  cuDNN %ld\n", iob_gpu_cudnn_version());
    for (int i = 0; i < n; i++) {
        printf("  %-22s %-4s %-8s %9.4f ms  err %.2e  ws %lld  %s\n", res[i].algo,
               res[i].tf32 ? "TF32" : "FMA", iob_status_name(res[i].status), res[i].time_ms,
               res[i].max_rel_err, (long long)res[i].workspace_bytes, res[i].message);
        assert_true(res[i].algo[0] != '\0');
        if (res[i].status == IOB_OK) {
            assert_true(res[i].time_ms > 0);
            assert_true(res[i].max_rel_err >= 0);
            fma_ok += !res[i].tf32;
        }
        tf32_seen += res[i].tf32;
        /* no algorithm may compute a wrong result silently */
        assert_int_not_equal(res[i].status, IOB_ECHECK);
    }
    assert_true(fma_ok >= 2); /* NOTES.md: IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM, ... */
    assert_true(tf32_seen >= 1);
    assert_true(iob_gpu_cudnn_version() >= 90000);
}

static void test_compared_with_cudnn(void **state)
{
    (void)state;
    iob_layer L = layer("n=2,c=16,h=20,k=24,r=3,pad=1,stride=2");
    iob_gpu_target t = ref_target(IOB_GPU_REF_NAIVE);
    iob_run_opts o = quick();
    o.with_cudnn = 1;
    iob_run_result r;
    iob_error err = {0};
    if (iob_gpu_run_target(&L, &t, &o, &r, &err))
        fail_msg("%s", err.msg);
    assert_true(r.max_rel_err_cudnn >= 0);
    assert_true(r.max_rel_err_cudnn <= 2e-4); /* both within 1e-4 of the FP64 reference */
    /* a cuDNN target runs through the same protocol */
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_CUDNN;
    o.with_cudnn = 0;
    if (iob_gpu_run_target(&L, &t, &o, &r, &err))
        fail_msg("%s", err.msg);
    assert_true(r.max_rel_err <= 1e-4);
    strcpy(t.cudnn_algo, "NOT_AN_ALGO");
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_EINVAL);
}

static void test_too_big_for_the_device(void **state)
{
    (void)state;
    /* 1024 x 1024 x 256 x 256 inputs = 275 GB */
    iob_layer L = layer("n=1024,c=1024,h=256,k=16,r=1");
    iob_gpu_target t = ref_target(IOB_GPU_REF_NAIVE);
    iob_run_opts o = quick();
    iob_run_result r;
    iob_error err = {0};
    assert_int_equal(iob_gpu_run_target(&L, &t, &o, &r, &err), IOB_ENOMEM);
    assert_non_null(strstr(err.msg, "MB free"));
    /* not a fault: the next run works */
    run_ok(layers[0], IOB_GPU_REF_NAIVE, 1e-4);
}

static void test_device_and_configs(void **state)
{
    (void)state;
    iob_machine m;
    iob_error err = {0};
    assert_int_equal(iob_machine_query_device(&m, &err), IOB_OK);
    printf("  %s: %d SMs, L2 %lld B, smem/SM %lld B\n", m.description, m.sm_count,
           (long long)m.l2_bytes, (long long)m.smem_per_sm);
    assert_true(m.sm_count > 0 && m.l2_bytes > 0 && m.smem_per_block >= 48 * 1024);
    assert_true(m.cc_major >= 7);
    assert_string_equal(m.name, "device");
    /* a config of an algorithm without a kernel (yet) is refused cleanly */
    iob_layer L = layer(layers[0]);
    iob_config cfg;
    assert_int_equal(iob_config_parse("algo=im2win,tile_k=16", &cfg, NULL), IOB_OK);
    iob_run_opts o = quick();
    iob_run_result r;
    iob_status st = iob_gpu_run(&L, &cfg, &o, &r, &err);
    if (!iob_plan_has_builder(IOB_ALGO_IM2WIN))
        assert_true(st == IOB_ENOTSUP || st == IOB_EINFEASIBLE || st == IOB_EINVAL);
}

/* The child: a kernel that writes through a NULL pointer must end in a sticky IOB_EGPU, and every
 * later call must fail at once. Exit 0 = as expected, 77 = no GPU, 1 = wrong. */
static int fault_child(void)
{
    iob_error err = {0};
    if (iob_gpu_available(&err))
        return 77;
    iob_layer L = layer("n=1,c=4,h=16,k=8,r=3,pad=1");
    iob_plan p;
    if (iob_plan_naive(&L, &p, &err))
        return 1;
    p.launch[0].args[2].buf = IOB_BUF_WORK0; /* no workspace: a NULL pointer */
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_PLAN;
    t.plan = &p;
    iob_run_opts o = quick();
    iob_run_result r;
    iob_status st = iob_gpu_run_target(&L, &t, &o, &r, &err);
    printf("  fault: %s\n", err.msg);
    if (st != IOB_EGPU || strncmp(err.msg, "sticky error", 12))
        return 1;
    iob_gpu_target n = ref_target(IOB_GPU_REF_NAIVE);
    st = iob_gpu_run_target(&L, &n, &o, &r, &err);
    printf("  then: %s\n", err.msg);
    return st == IOB_EGPU && !strncmp(err.msg, "sticky error", 12) ? 0 : 1;
}

int main(void)
{
    /* the fault test first, in a child forked before this process starts CUDA */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = fault_child();
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int child = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    iob_error err = {0};
    if (child == 77 || iob_gpu_available(&err)) {
        printf("no GPU: %s\n", err.msg[0] ? err.msg : "skipped");
        return 77;
    }
    if (child != 0) {
        printf("FAIL: a kernel fault did not become a sticky IOB_EGPU\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_and_configs),
        cmocka_unit_test(test_naive_layers),
        cmocka_unit_test(test_im2col_cublas_layers),
        cmocka_unit_test(test_sampled_check),
        cmocka_unit_test(test_unwritten_output_is_caught),
        cmocka_unit_test(test_wrong_value_is_caught),
        cmocka_unit_test(test_cudnn_baselines),
        cmocka_unit_test(test_compared_with_cudnn),
        cmocka_unit_test(test_too_big_for_the_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
