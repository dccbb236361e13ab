/* test_gpu_host.c - the host side of the GPU module, on the CPU (runs everywhere, CUDA or not):
 * the FP64 reference against a naive loop, the generator, the error metric and the checks,
 * SHA-256 and the kernel cache, the naive and im2col-cublas plans (the GEMM calls emulated on
 * the CPU), the Nsight Compute CSV parser on the samples of tests/data, the ncu command line and
 * running it (a fake ncu), reference names and target labels. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/gpu_test.h"

#include "gpu/host_cache.h"
#include "gpu/host_counters.h"
#include "gpu/host_im2col_cublas.h"
#include "gpu/host_ncu.h"
#include "gpu/host_ref.h"
#include "gpu/host_sha256.h"
#include "iobound/gpu.h"

/* Small layers of every kind: odd sizes, strides, dilation, groups, asymmetric padding, 1x1. */
static const char *const small_layers[] = {
    "n=2,c=3,h=7,w=5,k=4,r=3,pad=1",
    "n=1,c=4,h=9,k=6,r=3,stride=2,pad=1",
    "n=3,c=5,h=11,w=8,k=7,r=5,s=3,dil_h=2,dil_w=1,pad_h=2,pad_w=1",
    "n=1,c=8,h=6,k=8,r=3,groups=4,pad=1",
    "n=2,c=6,h=8,k=3,r=1,stride=3",
    "n=1,c=2,h=5,w=9,k=2,r=2,s=4,pad_top=0,pad_bottom=3,pad_left=2,pad_right=1,stride_w=2",
    "n=1,c=3,h=4,k=2,r=4,pad=3,dil=2",
};
#define NSMALL (int)(sizeof small_layers / sizeof small_layers[0])

static void fill_tensors(const iob_layer *L, float **x, float **w, uint64_t seed)
{
    iob_layer_counts c;
    assert_int_equal(iob_layer_counts_get(L, &c, NULL), IOB_OK);
    *x = malloc(c.input_elems * sizeof **x);
    *w = malloc(c.weight_elems * sizeof **w);
    assert_non_null(*x);
    assert_non_null(*w);
    iob_ref_fill(*x, c.input_elems, seed, IOB_STREAM_INPUT);
    iob_ref_fill(*w, c.weight_elems, seed, IOB_STREAM_FILTER);
}

/* The textbook loop over an explicitly zero-padded input, independent of host_ref.c. */
static double *naive_conv(const iob_layer *L, const float *x, const float *w)
{
    int64_t Hp = L->h + L->pad_top + L->pad_bottom, Wp = L->w + L->pad_left + L->pad_right;
    double *xp = calloc((size_t)(L->n * L->c * Hp * Wp), sizeof *xp);
    double *y = calloc((size_t)(L->n * L->k * L->p * L->q), sizeof *y);
    assert_non_null(xp);
    assert_non_null(y);
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t c = 0; c < L->c; c++)
            for (int64_t h = 0; h < L->h; h++)
                for (int64_t v = 0; v < L->w; v++)
                    xp[((n * L->c + c) * Hp + h + L->pad_top) * Wp + v + L->pad_left] =
                        x[((n * L->c + c) * L->h + h) * L->w + v];
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t k = 0; k < L->k; k++)
            for (int64_t p = 0; p < L->p; p++)
                for (int64_t q = 0; q < L->q; q++) {
                    double acc = 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t r = 0; r < L->r; r++)
                            for (int64_t s = 0; s < L->s; s++)
                                acc += xp[((n * L->c + (k / kg) * cg + c) * Hp + p * L->stride_h +
                                           r * L->dil_h) * Wp + q * L->stride_w + s * L->dil_w] *
                                       (double)w[((k * cg + c) * L->r + r) * L->s + s];
                    y[((n * L->k + k) * L->p + p) * L->q + q] = acc;
                }
    free(xp);
    return y;
}

static void test_reference_matches_naive_loop(void **state)
{
    (void)state;
    for (int i = 0; i < NSMALL; i++) {
        iob_layer L = layer(small_layers[i]);
        float *x, *w;
        fill_tensors(&L, &x, &w, 7 + (uint64_t)i);
        double *want = naive_conv(&L, x, w);
        iob_ref ref;
        assert_int_equal(iob_ref_compute(&L, x, w, 0, 1, &ref, NULL), IOB_OK);
        int64_t out = L.n * L.k * L.p * L.q;
        assert_int_equal(ref.count, out);
        assert_null(ref.index);
        for (int64_t j = 0; j < out; j++) {
            /* the same FP64 sum in another order: equal to rounding of a few ulps */
            assert_true(fabs(ref.value[j] - want[j]) <= 1e-12 * (1 + ref.abs_sum[j]));
            assert_true(ref.abs_sum[j] >= fabs(ref.value[j]));
        }
        iob_ref_free(&ref);
        free(want);
        free(x);
        free(w);
    }
}

static void test_abs_sum_and_padding_only_outputs(void **state)
{
    (void)state;
    /* 1x1 input, 3x3 filter, pad 2: the corner outputs see only padding */
    iob_layer L = layer("n=1,c=1,h=1,k=1,r=3,pad=2");
    assert_int_equal(L.p, 3);
    float x[1] = {0.5f}, w[9];
    for (int i = 0; i < 9; i++)
        w[i] = (float)(i + 1);
    double as;
    /* output (0,0): taps at ih = -2..0 -> only r=2,s=2 hits x: 0.5 * w[8] = 4.5 */
    assert_true(iob_ref_output(&L, x, w, 0, 0, 0, 0, &as) == 4.5);
    assert_true(as == 4.5);
    /* output (1,1) sees x through the centre tap... r=1,s=1: 0.5 * 5 */
    assert_true(iob_ref_output(&L, x, w, 0, 0, 1, 1, &as) == 2.5);
    /* the metric: denominators of zero use FLT_MIN, so any non-zero value is a huge error */
    assert_true(iob_ref_rel_err(0.0, 0.0, 0.0) == 0.0);
    assert_true(iob_ref_rel_err(1e-30, 0.0, 0.0) > 1e7);
    assert_true(fabs(iob_ref_rel_err(1.001, 1.0, 2.0) - 0.0005) < 1e-12);
    assert_true(isinf(iob_ref_rel_err(NAN, 1.0, 1.0)));
}

static void test_fill_values(void **state)
{
    (void)state;
    enum { N = 100003 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    iob_ref_fill(a, N, 42, IOB_STREAM_INPUT);
    omp_set_num_threads(threads > 1 ? threads : 2);
    iob_ref_fill(b, N, 42, IOB_STREAM_INPUT);
    omp_set_num_threads(threads);
    assert_memory_equal(a, b, N * sizeof *a); /* independent of the thread count */
    double mean = 0;
    int neg = 0;
    for (int i = 0; i < N; i++) {
        assert_true(a[i] > -1.0f && a[i] < 1.0f);
        assert_true(a[i] != 0.0f);
        /* (2m + 1 - 2^24) / 2^24: times 2^24 it is an odd integer */
        double s = (double)a[i] * 16777216.0;
        assert_true(s == floor(s) && fmod(fabs(s), 2.0) == 1.0);
        mean += a[i];
        neg += a[i] < 0;
    }
    mean /= N;
    assert_true(fabs(mean) < 0.01);               /* uniform on (-1,1): sd of the mean 0.0018 */
    assert_true(neg > N / 2 - 1000 && neg < N / 2 + 1000);
    iob_ref_fill(b, N, 42, IOB_STREAM_FILTER);    /* another stream */
    assert_true(memcmp(a, b, N * sizeof *a) != 0);
    iob_ref_fill(b, N, 43, IOB_STREAM_INPUT);     /* another seed */
    assert_true(memcmp(a, b, N * sizeof *a) != 0);
    free(a);
    free(b);
}

static void test_sampled_reference(void **state)
{
    (void)state;
    iob_layer L = layer("n=2,c=6,h=13,k=9,r=3,pad=1,stride=2");
    float *x, *w;
    fill_tensors(&L, &x, &w, 3);
    iob_ref full, samp;
    assert_int_equal(iob_ref_compute(&L, x, w, 0, 5, &full, NULL), IOB_OK);
    assert_int_equal(iob_ref_compute(&L, x, w, 100, 5, &samp, NULL), IOB_OK);
    int64_t out = L.n * L.k * L.p * L.q;
    assert_int_equal(samp.count, 100);
    assert_non_null(samp.index);
    assert_int_equal(samp.index[0], 0);
    assert_int_equal(samp.index[99], out - 1);
    for (int i = 0; i < 100; i++) {
        if (i)
            assert_true(samp.index[i] > samp.index[i - 1]); /* ascending and distinct */
        assert_true(samp.value[i] == full.value[samp.index[i]]);
        assert_true(samp.abs_sum[i] == full.abs_sum[samp.index[i]]);
    }
    /* values gathered at the sample's indices (as gpu/kernels/check.cu does) compare exactly as
     * the whole output does */
    float *y = malloc((size_t)out * sizeof *y), *vals = malloc(100 * sizeof *vals);
    for (int64_t i = 0; i < out; i++)
        y[i] = (float)full.value[i];
    y[samp.index[37]] += 0.25f;
    for (int i = 0; i < 100; i++)
        vals[i] = y[samp.index[i]];
    iob_check a, b;
    iob_ref_check(&samp, y, out, &a);
    memset(&b, 0x55, sizeof b);
    iob_ref_check_gathered(&samp, vals, &b);
    assert_int_equal(b.checked, 100);
    assert_int_equal(b.worst, samp.index[37]);
    assert_true(b.max_rel_err == a.max_rel_err && b.worst == a.worst);
    assert_true(b.worst_got == a.worst_got && b.worst_want == a.worst_want);
    free(y);
    free(vals);
    /* the same seed draws the same sample */
    iob_ref again;
    assert_int_equal(iob_ref_compute(&L, x, w, 100, 5, &again, NULL), IOB_OK);
    assert_memory_equal(again.index, samp.index, 100 * sizeof *samp.index);
    iob_ref_free(&again);
    /* automatic sample sizes */
    assert_int_equal(iob_ref_samples_for(&L, 0), 0);
    assert_int_equal(iob_ref_samples_for(&L, out), 0);
    assert_int_equal(iob_ref_samples_for(&L, 10), 10);
    iob_layer big = layer("n=32,c=256,h=56,k=256,r=3,pad=1");
    assert_int_equal(iob_ref_samples_for(&big, 0), IOB_REF_SAMPLES);
    iob_ref_free(&full);
    iob_ref_free(&samp);
    free(x);
    free(w);
}

static void test_check_and_verdict(void **state)
{
    (void)state;
    iob_layer L = layer("n=1,c=2,h=5,k=3,r=3,pad=1");
    float *x, *w;
    fill_tensors(&L, &x, &w, 11);
    iob_ref ref;
    assert_int_equal(iob_ref_compute(&L, x, w, 0, 1, &ref, NULL), IOB_OK);
    int64_t out = ref.count;
    float *y = malloc((size_t)out * sizeof *y);
    for (int64_t i = 0; i < out; i++)
        y[i] = (float)ref.value[i];
    iob_check chk;
    iob_error err = {0};
    iob_ref_check(&ref, y, out, &chk);
    assert_int_equal(chk.checked, out);
    assert_int_equal(chk.unwritten, 0);
    /* rounding to FP32 only: err <= 2^-24 |ref| / abs_sum <= 6e-8 */
    assert_true(chk.max_rel_err <= 6e-8);
    assert_int_equal(iob_ref_verdict(&L, &chk, 1e-4, "k", &err), IOB_OK);

    /* an unwritten element: the poison pattern at (n=0,k=1,p=2,q=3) */
    int64_t f = ((0 * 3 + 1) * 5 + 2) * 5 + 3;
    uint32_t poison = IOB_POISON_BITS;
    memcpy(&y[f], &poison, sizeof poison);
    memcpy(&y[out - 1], &poison, sizeof poison);
    iob_ref_check(&ref, y, out, &chk);
    assert_int_equal(chk.unwritten, 2);
    assert_int_equal(chk.first_unwritten, f);
    assert_int_equal(iob_ref_verdict(&L, &chk, 1e-4, "naive", &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "naive: 2 output elements not written (first at "
                                    "(n=0,k=1,p=2,q=3))"));

    /* another NaN or an infinity is "non-finite", not "unwritten" */
    y[f] = (float)ref.value[f];
    y[out - 1] = INFINITY;
    iob_ref_check(&ref, y, out, &chk);
    assert_int_equal(chk.unwritten, 0);
    assert_int_equal(chk.nonfinite, 1);
    assert_int_equal(iob_ref_verdict(&L, &chk, 1e-4, "k", &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "NaN or infinite"));

    /* a wrong value: err = 1e-3 / abs_sum */
    y[out - 1] = (float)ref.value[out - 1];
    y[7] = (float)(ref.value[7] + 1e-3);
    iob_ref_check(&ref, y, out, &chk);
    assert_int_equal(chk.worst, 7);
    assert_true(fabs(chk.max_rel_err - 1e-3 / ref.abs_sum[7]) < 1e-6 * chk.max_rel_err + 1e-7);
    assert_int_equal(iob_ref_verdict(&L, &chk, 1e-6, "k", &err), IOB_ECHECK);
    assert_non_null(strstr(err.msg, "relative error"));
    assert_non_null(strstr(err.msg, "(n=0,k=0,p=1,q=2)"));
    assert_int_equal(iob_ref_verdict(&L, &chk, 1.0, "k", &err), IOB_OK);

    /* comparing two outputs (ours vs cuDNN's) uses the same denominators */
    float *z = malloc((size_t)out * sizeof *z);
    memcpy(z, y, (size_t)out * sizeof *z);
    assert_true(iob_ref_compare(&ref, y, z) == 0.0);
    z[3] += 0.5f;
    assert_true(fabs(iob_ref_compare(&ref, y, z) - 0.5 / ref.abs_sum[3]) < 1e-6);
    free(z);
    free(y);
    iob_ref_free(&ref);
    free(x);
    free(w);
}

/* ---- SHA-256 and the cache ----------------------------------------------------------------- */

static void hex_of(const char *msg, size_t n, int chunks, char hex[65])
{
    iob_sha256 s;
    uint8_t d[32];
    iob_sha256_init(&s);
    size_t step = chunks > 1 ? n / (size_t)chunks + 1 : n;
    for (size_t i = 0; i < n; i += step)
        iob_sha256_update(&s, msg + i, n - i < step ? n - i : step);
    iob_sha256_final(&s, d);
    iob_sha256_hex(d, hex);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") */
    hex_of("", 0, 1, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, 1, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), 1, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hex_of(two, strlen(two), 7, hex); /* in pieces: the same */
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    hex_of(million, 1000000, 13, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_cache_key(void **state)
{
    (void)state;
    const char *opt[] = {"--gpu-architecture=sm_90", "-std=c++17", "-DLAYER_C=3"};
    char k1[65], k2[65];
    iob_error err = {0};
    assert_int_equal(iob_cache_key("naive.cu", opt, 3, 90, 13, 0, k1, &err), IOB_OK);
    assert_int_equal(strlen(k1), 64);
    assert_int_equal(iob_cache_key("naive.cu", opt, 3, 90, 13, 0, k2, &err), IOB_OK);
    assert_string_equal(k1, k2); /* deterministic */
    const char *opt2[] = {"--gpu-architecture=sm_90", "-std=c++17", "-DLAYER_C=4"};
    assert_int_equal(iob_cache_key("naive.cu", opt2, 3, 90, 13, 0, k2, &err), IOB_OK);
    assert_string_not_equal(k1, k2); /* a macro */
    assert_int_equal(iob_cache_key("naive.cu", opt, 3, 80, 13, 0, k2, &err), IOB_OK);
    assert_string_not_equal(k1, k2); /* the architecture */
    assert_int_equal(iob_cache_key("naive.cu", opt, 3, 90, 13, 1, k2, &err), IOB_OK);
    assert_string_not_equal(k1, k2); /* NVRTC's version */
    assert_int_equal(iob_cache_key("flush.cu", opt, 3, 90, 13, 0, k2, &err), IOB_OK);
    assert_string_not_equal(k1, k2); /* the file */
    /* option boundaries count: {"-DA", "B"} is not {"-DAB"} */
    const char *o3[] = {"-DA", "B"}, *o4[] = {"-DAB"};
    assert_int_equal(iob_cache_key("naive.cu", o3, 2, 90, 13, 0, k1, &err), IOB_OK);
    assert_int_equal(iob_cache_key("naive.cu", o4, 1, 90, 13, 0, k2, &err), IOB_OK);
    assert_string_not_equal(k1, k2);
    assert_int_equal(iob_cache_key("nope.cu", opt, 3, 90, 13, 0, k1, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "nope.cu"));
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/test_gpu_host.XXXXXX", IOB_BINARY_DIR);
    assert_non_null(mkdtemp(tmpdir));
}

static void test_cache_dir_and_files(void **state)
{
    (void)state;
    char dir[IOB_CACHE_PATH_MAX];
    iob_error err = {0};
    const char *saved = getenv("IOB_CACHE_DIR");
    char keep[1024] = "";
    if (saved)
        snprintf(keep, sizeof keep, "%s", saved);
    setenv("IOB_CACHE_DIR", "/x/cache", 1);
    assert_int_equal(iob_cache_dir(dir, sizeof dir, &err), IOB_OK);
    assert_string_equal(dir, "/x/cache");
    unsetenv("IOB_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    assert_int_equal(iob_cache_dir(dir, sizeof dir, &err), IOB_OK);
    assert_string_equal(dir, "/xdg/iobound");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(iob_cache_dir(dir, sizeof dir, &err), IOB_OK);
    assert_string_equal(dir, "/home/u/.cache/iobound");
    if (keep[0])
        setenv("IOB_CACHE_DIR", keep, 1);

    make_tmpdir();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/a/b", tmpdir); /* created with its parents */
    const char data[] = "\x7f" "ELF cubin bytes\0with a NUL";
    const char *key = "0123abcd";
    void *got;
    size_t n;
    assert_int_equal(iob_cache_read(sub, key, &got, &n), 0); /* a miss is not an error */
    assert_int_equal(iob_cache_write(sub, key, data, sizeof data, &err), IOB_OK);
    assert_int_equal(iob_cache_read(sub, key, &got, &n), 1);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(got, data, sizeof data);
    free(got);
    /* overwriting is atomic and leaves no temporary file behind */
    assert_int_equal(iob_cache_write(sub, key, "x", 1, &err), IOB_OK);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\" = 1", sub);
    assert_int_equal(system(cmd), 0);
    /* an unwritable folder is IOB_EIO with the path */
    snprintf(sub, sizeof sub, "%s/file", tmpdir);
    FILE *f = fopen(sub, "w");
    fclose(f);
    char below[600];
    snprintf(below, sizeof below, "%s/dir", sub);
    assert_int_equal(iob_cache_write(below, key, "x", 1, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, below));
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* ---- plans ---------------------------------------------------------------------------------- */

static void test_naive_plan(void **state)
{
    (void)state;
    iob_layer L = layer("n=3,c=5,h=11,w=8,k=7,r=5,s=3,dil_h=2,pad_h=2,pad_w=1,groups=1");
    iob_plan p;
    iob_error err = {0};
    assert_int_equal(iob_plan_naive(&L, &p, &err), IOB_OK);
    assert_int_equal(p.nprep, 0);
    assert_int_equal(p.nlaunch, 1);
    const iob_launch *l = &p.launch[0];
    assert_string_equal(l->file, "naive.cu");
    assert_string_equal(l->entry, "iob_conv_naive");
    int64_t out = L.n * L.k * L.p * L.q;
    assert_int_equal(l->grid[0], (out + 255) / 256);
    assert_int_equal(l->block[0] * l->block[1] * l->block[2], 256);
    assert_int_equal(l->smem_bytes, 0);
    assert_int_equal(l->nargs, 3);
    assert_int_equal(l->args[0].buf, IOB_BUF_INPUT);
    assert_int_equal(l->args[1].buf, IOB_BUF_FILTER);
    assert_int_equal(l->args[2].buf, IOB_BUF_OUTPUT);
    assert_non_null(strstr(l->defines, "-DLAYER_C=5 "));
    assert_non_null(strstr(l->defines, "-DLAYER_DIL_H=2 "));
    assert_non_null(strstr(l->defines, "-DLAYER_PAD_TOP=2 "));
    assert_null(strstr(l->defines, "TILE_K")); /* layer macros only */
    assert_true(p.tolerance == 1e-4);
    assert_true(iob_gpu_kernel_file(0, NULL) != NULL);
    /* every file a plan names is embedded */
    int found = 0;
    for (int i = 0; i < iob_gpu_kernel_file_count(); i++)
        found += !strcmp(iob_gpu_kernel_file(i, NULL), "naive.cu");
    assert_int_equal(found, 1);
    assert_null(iob_gpu_kernel_file(iob_gpu_kernel_file_count(), NULL));
}

/* col-major C (m x n) = A (m x k) * B (k x n), batched, as cublasSgemmStridedBatched defines it */
static void emulate_gemm(int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                         int64_t sa, const float *B, int64_t ldb, int64_t sb, double *C,
                         int64_t ldc, int64_t sc, int64_t batch)
{
    for (int64_t b = 0; b < batch; b++)
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < m; i++) {
                double acc = 0;
                for (int64_t t = 0; t < k; t++)
                    acc += (double)A[b * sa + t * lda + i] * (double)B[b * sb + j * ldb + t];
                C[b * sc + j * ldc + i] = acc;
            }
}

/* The gather of gpu/kernels/im2col_gather.cu, restated: col[img][g][crs][pq]. */
static void gather(const iob_layer *L, const float *x, int64_t n0, int64_t nimg, float *col)
{
    int64_t cg = L->c / L->groups, crs = cg * L->r * L->s, pq = L->p * L->q;
    for (int64_t img = 0; img < nimg; img++)
        for (int64_t g = 0; g < L->groups; g++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t r = 0; r < L->r; r++)
                    for (int64_t s = 0; s < L->s; s++)
                        for (int64_t p = 0; p < L->p; p++)
                            for (int64_t q = 0; q < L->q; q++) {
                                int64_t ih = p * L->stride_h - L->pad_top + r * L->dil_h;
                                int64_t iw = q * L->stride_w - L->pad_left + s * L->dil_w;
                                float v = 0;
                                if (ih >= 0 && ih < L->h && iw >= 0 && iw < L->w)
                                    v = x[(((n0 + img) * L->c + g * cg + c) * L->h + ih) * L->w +
                                          iw];
                                col[((img * L->groups + g) * crs + (c * L->r + r) * L->s + s) *
                                        pq + p * L->q + q] = v;
                            }
}

static void test_im2col_cublas_shapes(void **state)
{
    (void)state;
    for (int i = 0; i < NSMALL; i++) {
        iob_layer L = layer(small_layers[i]);
        float *x, *w;
        fill_tensors(&L, &x, &w, 5);
        iob_im2col_gemm g;
        iob_error err = {0};
        int64_t per_image = L.groups * (L.c / L.groups) * L.r * L.s * L.p * L.q * 4;
        /* a cap of one image per chunk exercises the chunking */
        assert_int_equal(iob_im2col_gemm_shape(&L, per_image, &g, &err), IOB_OK);
        assert_int_equal(g.images_per_chunk, 1);
        assert_int_equal(g.chunks, L.n);
        assert_int_equal(g.col_bytes, per_image);
        assert_int_equal(iob_im2col_gemm_shape(&L, per_image - 1, &g, &err), IOB_ENOMEM);
        assert_int_equal(iob_im2col_gemm_shape(&L, per_image * 2, &g, &err), IOB_OK);
        assert_int_equal(g.chunks, (L.n + 1) / 2);
        int64_t out = L.n * L.k * L.p * L.q;
        double *y = calloc((size_t)out, sizeof *y);
        float *col = malloc((size_t)g.col_bytes);
        for (int64_t c = 0; c < g.chunks; c++) {
            int64_t n0 = c * g.images_per_chunk;
            int64_t nimg = L.n - n0 < g.images_per_chunk ? L.n - n0 : g.images_per_chunk;
            gather(&L, x, n0, nimg, col);
            for (int64_t gr = 0; gr < g.groups; gr++)
                emulate_gemm(g.m, g.n, g.k, col + gr * g.a_group, g.lda, g.stride_a,
                             w + gr * g.b_group, g.ldb, g.stride_b,
                             y + n0 * g.c_image + gr * g.c_group, g.ldc, g.stride_c, nimg);
            iob_launch l;
            assert_int_equal(iob_im2col_gather_launch(&L, n0, nimg, 132, &l, &err), IOB_OK);
            assert_string_equal(l.entry, "iob_im2col_gather");
            assert_int_equal(l.args[1].buf, IOB_BUF_WORK0);
            assert_int_equal(l.args[2].i64, n0);
            assert_int_equal(l.args[3].i64, nimg);
            assert_true(l.grid[0] >= 1 && l.grid[0] <= 8 * 132);
        }
        iob_ref ref;
        assert_int_equal(iob_ref_compute(&L, x, w, 0, 1, &ref, NULL), IOB_OK);
        for (int64_t j = 0; j < out; j++)
            assert_true(fabs(y[j] - ref.value[j]) <= 1e-12 * (1 + ref.abs_sum[j]));
        iob_ref_free(&ref);
        free(col);
        free(y);
        free(x);
        free(w);
    }
    /* a GEMM beyond cuBLAS's int dimensions */
    iob_layer huge = layer("n=1,c=1,h=65536,w=65536,k=1,r=1");
    iob_im2col_gemm g;
    assert_int_equal(iob_im2col_gemm_shape(&huge, INT64_MAX, &g, NULL), IOB_ERANGE);
}

/* ---- counters and Nsight Compute CSV -------------------------------------------------------- */

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fabs(b);
}

static const char *data_file(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/tests/data/%s", IOB_SOURCE_DIR, name);
    return buf;
}

static void test_metric_table(void **state)
{
    (void)state;
    assert_int_equal(iob_counter_metric_count(), 9);
    assert_string_equal(iob_counter_metric_name(0), "dram__bytes_read.sum");
    assert_string_equal(iob_counter_metric_name(2), "lts__t_sectors_srcunit_tex_op_read.sum");
    assert_string_equal(iob_counter_metric_name(6),
                        "sm__sass_thread_inst_executed_op_ffma_pred_on.sum");
    assert_string_equal(iob_counter_metric_name(8), "l1tex__m_xbar2l1tex_read_sectors.sum");
    assert_null(iob_counter_metric_name(9));
    iob_counters a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (int i = 0; i < IOB_NMETRICS; i++) {
        *iob_counters_at(&a, i) = i + 1;
        *iob_counters_at(&b, i) = 10 * (i + 1);
    }
    iob_counters_add(&a, &b);
    assert_true(a.dram_read_bytes == 11 && a.duration_ns == 88 && a.ffma == 77);
    assert_true(a.sm_read_sectors == 99);
}

static void test_ncu_raw(void **state)
{
    (void)state;
    char path[512];
    iob_counters k[8];
    int n = 0;
    iob_error err = {0};
    assert_int_equal(iob_ncu_parse_file(data_file("ncu_raw.csv", path, sizeof path), k, 8, &n,
                                        &err), IOB_OK);
    assert_int_equal(n, 3);
    assert_non_null(strstr(k[0].kernel, "conv2d_grouped_direct_kernel<float, float"));
    assert_true(near(k[0].dram_read_bytes, 1.61e6));   /* Mbyte */
    assert_true(fabs(k[0].dram_write_bytes - 802820) < 1e-6); /* Kbyte */
    assert_true(fabs(k[0].duration_ns - 35940) < 1e-6);       /* usecond */
    assert_true(near(k[0].l1_global_load_bytes, 1.23e9)); /* Gbyte */
    assert_true(k[0].l2_read_sectors == 1234567);      /* "1,234,567" */
    assert_true(k[0].l2_write_sectors == 25088);
    assert_true(k[0].smem_bytes == 0);
    assert_true(k[0].ffma == 115605504);
    assert_true(fabs(k[0].sm_read_sectors - 1371740) < 1e-6); /* "1,371.74" Ksector */
    assert_string_equal(k[1].kernel, "iob_conv_naive");
    assert_true(isnan(k[1].sm_read_sectors));           /* "n/a" */
    assert_true(near(k[1].dram_read_bytes, 250000));
    assert_true(near(k[1].l1_global_load_bytes, 5e7));
    assert_true(isnan(k[1].dram_write_bytes));          /* "n/a" */
    assert_true(fabs(k[1].duration_ns - 1203500) < 1e-6); /* "1,203.50" usecond */
    assert_true(k[1].smem_bytes == 12345);
    assert_string_equal(k[2].kernel, "kernel \"quoted\", name"); /* "" and , inside quotes */
    assert_true(k[2].smem_bytes == 1048576);
    assert_true(fabs(k[2].sm_read_sectors - 10) < 1e-9);
    /* fewer slots than kernels: the count is still the file's */
    assert_int_equal(iob_ncu_parse_file(path, k, 1, &n, &err), IOB_OK);
    assert_int_equal(n, 3);
}

static void test_ncu_subset_crlf_and_details(void **state)
{
    (void)state;
    char path[512];
    iob_counters k[8];
    int n = 0;
    iob_error err = {0};
    assert_int_equal(iob_ncu_parse_file(data_file("ncu_subset_crlf.csv", path, sizeof path), k,
                                        8, &n, &err), IOB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(k[0].kernel, "implicit_convolve_sgemm");
    assert_true(k[0].dram_read_bytes == 3211264);
    assert_true(fabs(k[0].duration_ns - 12500) < 1e-6); /* msecond */
    assert_true(isnan(k[0].l2_read_sectors));            /* not recorded */
    assert_true(isnan(k[0].ffma));
    assert_true(isnan(k[0].sm_read_sectors));            /* a file recorded without it */
    assert_true(fabs(k[1].duration_ns - 40000) < 1e-6);
    assert_int_equal(iob_ncu_parse_file(data_file("ncu_details.csv", path, sizeof path), k, 8,
                                        &n, &err), IOB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(k[0].kernel, "gemm_kernel");
    assert_true(fabs(k[0].dram_read_bytes - 4.19e6) < 1e-3);
    assert_true(fabs(k[0].duration_ns - 12220) < 1e-6);
    assert_true(k[0].l2_read_sectors == 131072);
    assert_string_equal(k[1].kernel, "reduce_kernel");
    assert_true(k[1].duration_ns == 980);
    assert_true(k[1].dram_read_bytes == 64000);
    assert_true(isnan(k[1].l2_read_sectors));
    assert_true(isnan(k[0].sm_read_sectors) && isnan(k[1].sm_read_sectors));
}

static void parse_fails(const char *text, iob_status want, const char *sub)
{
    iob_counters k[4];
    int n = 0;
    iob_error err = {0};
    iob_status st = iob_ncu_parse_text(text, "t.csv", k, 4, &n, &err);
    if (st != want || !strstr(err.msg, sub))
        fail_msg("status %d, message '%s'; wanted %d with '%s'", st, err.msg, want, sub);
}

#define HDR "\"ID\",\"Kernel Name\",\"dram__bytes_read.sum\",\"gpu__time_duration.sum\"\n"
#define UNITS "\"\",\"\",\"byte\",\"nsecond\"\n"

static void test_ncu_bad_input(void **state)
{
    (void)state;
    parse_fails("", IOB_EINVAL, "no Nsight Compute CSV header");
    parse_fails("==PROF== nothing profiled\n", IOB_EINVAL, "no Nsight Compute CSV header");
    parse_fails("\"ID\",\"Kernel Name\",\"foo.sum\"\n\"\",\"\",\"\"\n\"0\",\"k\",\"1\"\n",
                IOB_EINVAL, "no column of a counter metric");
    parse_fails(HDR UNITS "\"0\",\"k\",\"12x\",\"5\"\n", IOB_EINVAL,
                "t.csv: line 3: dram__bytes_read.sum = '12x' is not a number");
    parse_fails(HDR "\"\",\"\",\"furlong\",\"nsecond\"\n\"0\",\"k\",\"1\",\"5\"\n", IOB_EINVAL,
                "line 3: unknown unit 'furlong' for dram__bytes_read.sum");
    parse_fails(HDR "\"\",\"\",\"byte\",\"byte\"\n\"0\",\"k\",\"1\",\"5\"\n", IOB_EINVAL,
                "unknown unit 'byte' for gpu__time_duration.sum");
    parse_fails(HDR UNITS "\"0\",\"k\",\"1\"\n", IOB_EINVAL, "line 3: 3 values, the header has 4");
    parse_fails(HDR UNITS "\"0\",\"k\",\"1\",\"5\n", IOB_EINVAL, "unterminated quoted value");
    iob_counters k[2];
    int n = 0;
    iob_error err = {0};
    assert_int_equal(iob_ncu_parse_file("/nonexistent/x.csv", k, 2, &n, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.csv"));
    /* unquoted values and no units row parse too */
    assert_int_equal(iob_ncu_parse_text("ID,Kernel Name,dram__bytes_read.sum\n0,k,7\n", "u", k, 2,
                                        &n, &err), IOB_OK);
    assert_int_equal(n, 1);
    assert_true(k[0].dram_read_bytes == 7);
}

static void test_ncu_command_line(void **state)
{
    (void)state;
    const char *child[] = {"/opt/iobound", "run", "--layer", "c=3,h=8,k=4,r=3", "--ncu-child",
                           NULL};
    char **v = NULL;
    assert_int_equal(iob_ncu_argv("ncu", "^(iob_conv_naive)$", "/tmp/x.csv", child, &v, NULL),
                     IOB_OK);
    const char *want[] = {"ncu", "--metrics",
                          "dram__bytes_read.sum,dram__bytes_write.sum,"
                          "lts__t_sectors_srcunit_tex_op_read.sum,"
                          "lts__t_sectors_srcunit_tex_op_write.sum,"
                          "l1tex__t_bytes_pipe_lsu_mem_global_op_ld.sum,"
                          "sm__sass_data_bytes_mem_shared.sum,"
                          "sm__sass_thread_inst_executed_op_ffma_pred_on.sum,"
                          "gpu__time_duration.sum,"
                          "l1tex__m_xbar2l1tex_read_sectors.sum",
                          "-k", "regex:^(iob_conv_naive)$", "--cache-control", "all",
                          "--clock-control", "none", "--csv", "--page", "raw", "--log-file",
                          "/tmp/x.csv", "/opt/iobound", "run", "--layer", "c=3,h=8,k=4,r=3",
                          "--ncu-child", NULL};
    for (int i = 0; want[i] || v[i]; i++) {
        assert_non_null(v[i]);
        assert_non_null(want[i]);
        assert_string_equal(v[i], want[i]);
    }
    free(v);
    /* without a kernel filter there is no -k */
    assert_int_equal(iob_ncu_argv("ncu", NULL, "/tmp/x.csv", child, &v, NULL), IOB_OK);
    for (int i = 0; v[i]; i++)
        assert_string_not_equal(v[i], "-k");
    free(v);
}

/* A stand-in for ncu: records its arguments, copies $FAKE_CSV to the --log-file, exits $FAKE_RC. */
static void write_fake_ncu(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n"
          "echo \"$@\" > \"$FAKE_ARGS\"\n"
          "log=\n"
          "while [ $# -gt 0 ]; do\n"
          "  if [ \"$1\" = --log-file ]; then log=$2; shift; fi\n"
          "  shift\n"
          "done\n"
          "echo '==PROF== Connected to process 1'\n"
          "cp \"$FAKE_CSV\" \"$log\"\n"
          "if [ \"${FAKE_RC:-0}\" != 0 ]; then echo 'child failed: wrong output' >&2; fi\n"
          "exit ${FAKE_RC:-0}\n",
          f);
    fclose(f);
    chmod(path, 0755);
}

static void test_ncu_run_fake(void **state)
{
    (void)state;
    make_tmpdir();
    char ncu[512], args[512], out[512], log[512], csv[512];
    snprintf(ncu, sizeof ncu, "%s/ncu", tmpdir);
    snprintf(args, sizeof args, "%s/args", tmpdir);
    snprintf(out, sizeof out, "%s/ncu.out", tmpdir);
    snprintf(log, sizeof log, "%s/ncu.csv", tmpdir);
    write_fake_ncu(ncu);
    setenv("FAKE_ARGS", args, 1);
    setenv("FAKE_CSV", data_file("ncu_raw.csv", csv, sizeof csv), 1);
    const char *child[] = {"/opt/iobound", "run", "--ncu-child", NULL};
    char **v;
    assert_int_equal(iob_ncu_argv(ncu, "^(a|b)$", log, child, &v, NULL), IOB_OK);
    iob_counters k[8];
    int n = 0;
    iob_error err = {0};
    setenv("FAKE_RC", "0", 1);
    assert_int_equal(iob_ncu_run(v, out, log, k, 8, &n, &err), IOB_OK);
    assert_int_equal(n, 3);
    assert_true(k[0].l2_read_sectors == 1234567);
    assert_true(fabs(k[0].sm_read_sectors - 1371740) < 1e-6);
    FILE *f = fopen(args, "r");
    char line[2048] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "-k regex:^(a|b)$ --cache-control all --clock-control none "
                                 "--csv --page raw --log-file"));
    assert_non_null(strstr(line, "/opt/iobound run --ncu-child"));
    /* a failing child: IOB_EGPU with its exit status and last output line */
    setenv("FAKE_RC", "3", 1);
    assert_int_equal(iob_ncu_run(v, out, log, k, 8, &n, &err), IOB_EGPU);
    assert_non_null(strstr(err.msg, "exited with status 3"));
    assert_non_null(strstr(err.msg, "child failed: wrong output"));
    free(v);
    /* no such program */
    const char *none[] = {"/nonexistent/ncu", NULL};
    assert_int_equal(iob_ncu_run((char *const *)none, out, log, k, 8, &n, &err), IOB_EGPU);
    assert_non_null(strstr(err.msg, "/nonexistent/ncu"));
    unsetenv("FAKE_RC");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static void test_refs_and_labels(void **state)
{
    (void)state;
    iob_gpu_ref r;
    iob_error err = {0};
    assert_int_equal(iob_gpu_ref_parse("naive", &r, &err), IOB_OK);
    assert_int_equal(r, IOB_GPU_REF_NAIVE);
    assert_int_equal(iob_gpu_ref_parse("im2col-cublas", &r, &err), IOB_OK);
    assert_int_equal(r, IOB_GPU_REF_IM2COL_CUBLAS);
    assert_int_equal(iob_gpu_ref_parse("cublas", &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "known: naive, im2col-cublas"));
    assert_string_equal(iob_gpu_ref_name(IOB_GPU_REF_IM2COL_CUBLAS), "im2col-cublas");
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    char buf[160];
    t.kind = IOB_TARGET_CUDNN;
    iob_gpu_target_label(&t, buf, sizeof buf);
    assert_string_equal(buf, "cudnn fastest (FMA)");
    strcpy(t.cudnn_algo, "FFT");
    t.tf32 = 1;
    iob_gpu_target_label(&t, buf, sizeof buf);
    assert_string_equal(buf, "cudnn FFT (TF32 allowed)");
    t.kind = IOB_TARGET_CONFIG;
    assert_int_equal(iob_config_parse("algo=direct,tile_k=64", &t.cfg, NULL), IOB_OK);
    iob_gpu_target_label(&t, buf, sizeof buf);
    assert_string_equal(buf, "algo=direct,tile_k=64,stages=1,split_c=1");
    iob_layer L = layer("n=2,c=4,h=6,k=4,r=3");
    iob_launch l[2];
    int n = 0;
    assert_int_equal(iob_gpu_ref_launches(&L, IOB_GPU_REF_IM2COL_CUBLAS, 132, l, 2, &n, &err),
                     IOB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].entry, "iob_im2col_gather");
    assert_int_equal(l[0].args[3].i64, 2); /* all images */
    iob_run_opts o;
    iob_run_opts_default(&o);
    assert_int_equal(o.reps, 20);
    assert_int_equal(o.warmup, 3);
    assert_int_equal(o.flush_l2, 1);
    assert_int_equal(o.check, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_matches_naive_loop),
        cmocka_unit_test(test_abs_sum_and_padding_only_outputs),
        cmocka_unit_test(test_fill_values),
        cmocka_unit_test(test_sampled_reference),
        cmocka_unit_test(test_check_and_verdict),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_cache_key),
        cmocka_unit_test(test_cache_dir_and_files),
        cmocka_unit_test(test_naive_plan),
        cmocka_unit_test(test_im2col_cublas_shapes),
        cmocka_unit_test(test_metric_table),
        cmocka_unit_test(test_ncu_raw),
        cmocka_unit_test(test_ncu_subset_crlf_and_details),
        cmocka_unit_test(test_ncu_bad_input),
        cmocka_unit_test(test_ncu_command_line),
        cmocka_unit_test(test_ncu_run_fake),
        cmocka_unit_test(test_refs_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
