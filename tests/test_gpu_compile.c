/* test_gpu_compile.c - NVRTC compilation and the on-disk cache (no GPU needed: runs in CI when
 * the build has CUDA; exit 77 = skipped in a build without it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "tests/gpu_test.h"

#include "iobound/gpu.h"

static char cache_dir[512];

static int count_files(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "exit $(ls -A %s 2>/dev/null | wc -l)", dir);
    int rc = system(cmd);
    return WEXITSTATUS(rc);
}

static void test_compile_and_cache(void **state)
{
    (void)state;
    iob_layer L = layer("n=2,c=5,h=9,w=7,k=6,r=3,pad=1,stride=2");
    iob_plan p;
    iob_error err = {0};
    assert_int_equal(iob_plan_naive(&L, &p, &err), IOB_OK);
    iob_compile_info a, b;
    iob_status st = iob_gpu_compile(&p.launch[0], 90, &a, &err);
    if (st)
        fail_msg("%s\n%s", err.msg, iob_gpu_compile_log());
    assert_int_equal(a.cache_hit, 0);
    assert_int_equal(a.arch, 90);
    assert_true(a.ms > 0);
    assert_true(a.cubin_bytes > 1000);
    assert_int_equal(strlen(a.key), 64);
    assert_int_equal(count_files(cache_dir), 1);
    /* the second compilation is free: the cache answers */
    assert_int_equal(iob_gpu_compile(&p.launch[0], 90, &b, &err), IOB_OK);
    assert_int_equal(b.cache_hit, 1);
    assert_true(b.ms == 0);
    assert_string_equal(a.key, b.key);
    assert_int_equal(b.cubin_bytes, a.cubin_bytes);
    /* another layer is another kernel */
    iob_layer L2 = layer("n=2,c=5,h=9,w=7,k=6,r=3,pad=1,stride=1");
    iob_plan p2;
    assert_int_equal(iob_plan_naive(&L2, &p2, &err), IOB_OK);
    assert_int_equal(iob_gpu_compile(&p2.launch[0], 90, &b, &err), IOB_OK);
    assert_int_equal(b.cache_hit, 0);
    assert_string_not_equal(a.key, b.key);
    assert_int_equal(count_files(cache_dir), 2);
}

static void test_compile_many(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "n=1,c=3,h=224,k=64,r=7,stride=2,pad=3", "n=3,c=5,h=17,w=13,k=7,r=5,dil=2,pad=2",
        "n=1,c=32,h=15,k=64,r=3,pad=1,groups=4",
        "n=1,c=16,h=9,k=8,r=3,pad_top=0,pad_bottom=2,pad_left=1,pad_right=0"};
    iob_launch l[9];
    int n = 0;
    iob_error err = {0};
    memset(&l[n], 0, sizeof l[n]);
    strcpy(l[n].file, "flush.cu");
    strcpy(l[n++].entry, "iob_l2_flush");
    for (int i = 0; i < 4; i++) {
        iob_layer L = layer(specs[i]);
        int k = 0;
        assert_int_equal(iob_gpu_ref_launches(&L, IOB_GPU_REF_NAIVE, 132, &l[n], 1, &k, &err),
                         IOB_OK);
        n += k;
        assert_int_equal(iob_gpu_ref_launches(&L, IOB_GPU_REF_IM2COL_CUBLAS, 132, &l[n], 1, &k,
                                              &err), IOB_OK);
        n += k;
    }
    iob_compile_info info[9];
    iob_status st[9];
    iob_error errs[9];
    iob_status s = iob_gpu_compile_many(l, n, 90, info, st, errs, &err);
    if (s)
        fail_msg("%s", err.msg);
    for (int i = 0; i < n; i++) {
        assert_int_equal(st[i], IOB_OK);
        assert_true(info[i].cubin_bytes > 0);
    }
    /* and for an older architecture too (sm_80, A100) */
    assert_int_equal(iob_gpu_compile_many(l, n, 80, info, st, errs, &err), IOB_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(info[i].arch, 80);
}

static void test_compile_errors(void **state)
{
    (void)state;
    iob_launch l;
    iob_error err = {0};
    iob_compile_info info;
    memset(&l, 0, sizeof l);
    strcpy(l.file, "naive.cu");
    strcpy(l.entry, "iob_conv_naive");
    /* no layer macros: the kernel does not compile */
    assert_int_equal(iob_gpu_compile(&l, 90, &info, &err), IOB_EGPU);
    assert_non_null(strstr(err.msg, "NVRTC could not compile naive.cu: "));
    assert_non_null(strstr(err.msg, "error"));
    assert_null(strchr(err.msg, '\n')); /* one line */
    assert_non_null(strstr(iob_gpu_compile_log(), "LAYER_"));
    assert_int_equal(count_files(cache_dir), 0); /* failures are not cached */
    /* a good compilation clears the log */
    iob_layer L = layer("c=2,h=4,k=2,r=3");
    iob_plan p;
    assert_int_equal(iob_plan_naive(&L, &p, &err), IOB_OK);
    assert_int_equal(iob_gpu_compile(&p.launch[0], 90, &info, &err), IOB_OK);
    assert_string_equal(iob_gpu_compile_log(), "");
    strcpy(l.file, "missing.cu");
    assert_int_equal(iob_gpu_compile(&l, 90, &info, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "missing.cu"));
    assert_int_equal(iob_gpu_compile(&p.launch[0], 12, &info, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "sm_12"));
    /* compile_many reports the first failure */
    iob_launch two[2] = {p.launch[0], l};
    iob_status st[2];
    iob_compile_info inf[2];
    assert_int_equal(iob_gpu_compile_many(two, 2, 90, inf, st, NULL, &err), IOB_EINVAL);
    assert_int_equal(st[0], IOB_OK);
    assert_int_equal(st[1], IOB_EINVAL);
}

static void test_nvrtc_version(void **state)
{
    (void)state;
    int major = 0, minor = 0;
    assert_int_equal(iob_gpu_nvrtc_version(&major, &minor, NULL), IOB_OK);
    assert_true(major >= 12);
}

static int fresh_cache(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", cache_dir, cache_dir);
    return system(cmd);
}

int main(void)
{
    if (!iob_gpu_built()) {
        printf("built without CUDA: skipped\n");
        return 77;
    }
    snprintf(cache_dir, sizeof cache_dir, "%s/test_gpu_compile.cache", IOB_BINARY_DIR);
    setenv("IOB_CACHE_DIR", cache_dir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_compile_and_cache, fresh_cache),
        cmocka_unit_test_setup(test_compile_many, fresh_cache),
        cmocka_unit_test_setup(test_compile_errors, fresh_cache),
        cmocka_unit_test(test_nvrtc_version),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fresh_cache(NULL);
    return rc;
}
