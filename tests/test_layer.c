/* test_layer.c - layer specs: grammar, defaults, output sizes, exact counts, files, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/layer.h"

static iob_layer parse_ok(const char *spec)
{
    iob_layer L;
    iob_error err = {0};
    iob_status st = iob_layer_parse(spec, &L, &err);
    if (st)
        fail_msg("'%s' failed: %s", spec, err.msg);
    return L;
}

static void test_defaults(void **state)
{
    (void)state;
    iob_layer L = parse_ok("c=64,h=56,k=128,r=3");
    assert_int_equal(L.n, 1);
    assert_int_equal(L.w, 56);
    assert_int_equal(L.s, 3);
    assert_int_equal(L.stride_h, 1);
    assert_int_equal(L.stride_w, 1);
    assert_int_equal(L.pad_top + L.pad_bottom + L.pad_left + L.pad_right, 0);
    assert_int_equal(L.dil_h, 1);
    assert_int_equal(L.groups, 1);
    assert_int_equal(L.p, 54);
    assert_int_equal(L.q, 54);
}

static void test_per_axis_and_asymmetric(void **state)
{
    (void)state;
    iob_layer L = parse_ok(" n=2 , c=8,h=31,w=17,k=4,r=5,s=3,stride_h=2,stride_w=3,pad_top=1,"
                           "pad_bottom=2,pad_left=0,pad_right=4,dil_h=2,dil_w=1,name=odd");
    assert_string_equal(L.name, "odd");
    /* P = (31+1+2 - (2*4+1))/2 + 1 = 25/2+1 = 13; Q = (17+0+4-3)/3+1 = 7 */
    assert_int_equal(L.p, 13);
    assert_int_equal(L.q, 7);
    L = parse_ok("c=3,h=10,k=1,r=3,pad_h=2,pad_w=0");
    assert_int_equal(L.p, 12);
    assert_int_equal(L.q, 8);
    /* later keys override earlier ones */
    L = parse_ok("c=3,h=10,k=1,r=3,stride=2,stride_w=1");
    assert_int_equal(L.stride_h, 2);
    assert_int_equal(L.stride_w, 1);
}

static void test_pad_same(void **state)
{
    (void)state;
    /* TensorFlow: out = ceil(224/2) = 112, total pad = 111*2 + 7 - 224 = 5 -> 2 top, 3 bottom */
    iob_layer L = parse_ok("c=3,h=224,k=64,r=7,stride=2,pad=same");
    assert_int_equal(L.p, 112);
    assert_int_equal(L.pad_top, 2);
    assert_int_equal(L.pad_bottom, 3);
    L = parse_ok("c=3,h=15,w=16,k=1,r=3,pad=same");
    assert_int_equal(L.p, 15);
    assert_int_equal(L.q, 16);
    assert_int_equal(L.pad_left, 1);
    assert_int_equal(L.pad_right, 1);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *specs[] = {
        "n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1",
        "name=a.b,n=3,c=12,h=9,w=13,k=6,r=2,s=4,stride_h=2,stride_w=1,pad_top=1,pad_left=3,"
        "dil_w=2,groups=3",
        "c=3,h=224,k=64,r=7,stride=2,pad=same",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        iob_layer a = parse_ok(specs[i]);
        char buf[512];
        int n = iob_layer_format(&a, buf, sizeof buf);
        assert_true(n > 0 && n < (int)sizeof buf);
        iob_layer b = parse_ok(buf);
        assert_string_equal(a.name, b.name);
        assert_memory_equal(&a.n, &b.n, offsetof(iob_layer, given) - offsetof(iob_layer, n));
    }
}

/* Brute force over all (o, t) pairs: the positions read along one axis. */
static int64_t brute_used(int64_t extent, int64_t out, int64_t taps, int64_t stride, int64_t dil,
                          int64_t pad, int64_t *valid_taps)
{
    char seen[4096] = {0};
    int64_t used = 0, valid = 0;
    for (int64_t o = 0; o < out; o++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t x = o * stride + t * dil - pad;
            if (x < 0 || x >= extent)
                continue;
            valid++;
            if (!seen[x]) {
                seen[x] = 1;
                used++;
            }
        }
    *valid_taps = valid;
    return used;
}

static void test_axis_counts_against_brute_force(void **state)
{
    (void)state;
    srand(12345);
    for (int it = 0; it < 20000; it++) {
        int64_t extent = 1 + rand() % 60, taps = 1 + rand() % 9, stride = 1 + rand() % 7;
        int64_t dil = 1 + rand() % 4, pad = rand() % 6;
        int64_t span = dil * (taps - 1) + 1, padded = extent + 2 * pad;
        if (span > padded)
            continue;
        int64_t out = (padded - span) / stride + 1, valid;
        int64_t used = brute_used(extent, out, taps, stride, dil, pad, &valid);
        assert_int_equal(iob_axis_used(extent, out, taps, stride, dil, pad), used);
        assert_int_equal(iob_axis_valid_taps(extent, out, taps, stride, dil, pad), valid);
    }
}

static void test_counts(void **state)
{
    (void)state;
    iob_layer_counts c;
    /* resnet50 layer1.0.conv2: 64 -> 64, 3x3, 56x56, pad 1 */
    iob_layer L = parse_ok("c=64,h=56,k=64,r=3,pad=1");
    assert_int_equal(iob_layer_counts_get(&L, &c, NULL), IOB_OK);
    assert_true(c.macs == 64ULL * 64 * 56 * 56 * 9);
    assert_true(c.flops == 2 * c.macs);
    /* padding taps: per axis 3*56 - 2 valid (o,t) pairs */
    assert_true(c.useful_macs == 64ULL * 64 * (3 * 56 - 2) * (3 * 56 - 2));
    assert_true(c.input_used_elems == 64ULL * 56 * 56);
    assert_true(c.weight_elems == 64ULL * 64 * 9);
    assert_true(c.output_elems == 64ULL * 56 * 56);
    assert_true(c.compulsory_elems == c.input_used_elems + c.weight_elems + c.output_elems);
    /* a stride larger than the filter skips inputs: 1x1 stride 2 on 8x8 reads 4x4 of them */
    L = parse_ok("n=2,c=5,h=8,k=3,r=1,stride=2");
    assert_int_equal(iob_layer_counts_get(&L, &c, NULL), IOB_OK);
    assert_true(c.input_used_elems == 2ULL * 5 * 4 * 4);
    assert_true(c.input_elems == 2ULL * 5 * 8 * 8);
    /* groups: weights hold C/G channels */
    L = parse_ok("c=32,h=10,k=64,r=3,groups=8");
    assert_int_equal(iob_layer_counts_get(&L, &c, NULL), IOB_OK);
    assert_true(c.weight_elems == 64ULL * 4 * 9);
    assert_true(c.macs == 64ULL * 8 * 8 * 4 * 9);
}

typedef struct bad_case {
    const char *spec;
    iob_status code;
    const char *message; /* substring of the one-line message */
} bad_case;

static void test_bad_specs(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"", IOB_EINVAL, "empty layer spec"},
        {"c=64,h=56,k=64,r=3,bogus=1", IOB_EINVAL, "unknown key 'bogus'"},
        {"c=sixty,h=56,k=64,r=3", IOB_EINVAL, "c=sixty: not a whole number"},
        {"c=64,h=56.5,k=64,r=3", IOB_EINVAL, "h=56.5: not a whole number"},
        {"c=64,h=-5,k=64,r=3", IOB_EINVAL, "h=-5: must not be negative"},
        {"c=0,h=56,k=64,r=3", IOB_EINVAL, "c=0: must be at least 1"},
        {"c=64,h=56,k=64,r=3,stride=0", IOB_EINVAL, "stride_h=0: must be at least 1"},
        {"c=64,h=56,k=64", IOB_EINVAL, "missing key 'r'"},
        {"h=56,k=64,r=3", IOB_EINVAL, "missing key 'c'"},
        {"c=64,h=5,k=64,r=7", IOB_EINVAL, "more than the padded input height 5"},
        {"c=64,h=5,k=64,r=3,dil_h=3", IOB_EINVAL, "spans 7 rows"},
        {"c=64,h=9,w=4,k=1,r=1,s=5", IOB_EINVAL, "more than the padded input width 4"},
        {"c=10,h=8,k=4,r=3,groups=4", IOB_EINVAL, "groups=4 does not divide c=10"},
        {"c=8,h=8,k=6,r=3,groups=4", IOB_EINVAL, "groups=4 does not divide k=6"},
        {"c=64,h=99999999999,k=64,r=3", IOB_ERANGE, "larger than the supported maximum"},
        {"n=2147483647,c=2147483647,h=2147483647,k=2147483647,r=1", IOB_ERANGE,
         "overflow 64 bits"},
        {"c=64,h=56,k=64,r=3,p=56", IOB_EINVAL, "declared p=56 but the shape gives p=54"},
        {"c=64,h=56,k=64,r=3,pad", IOB_EINVAL, "is not key=value"},
        {"c=64,h=56,k=64,r=3,=4", IOB_EINVAL, "has no key"},
        {"c=64,h=70000,k=1,r=70000", IOB_ERANGE, "largest supported filter side"},
        {"c=1,h=3,k=1,r=1,name=a,b", IOB_EINVAL, "not key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        iob_layer L;
        iob_error err = {0};
        iob_status st = iob_layer_parse(cases[i].spec, &L, &err);
        if (st != cases[i].code || !strstr(err.msg, cases[i].message))
            fail_msg("spec '%s': got code %d '%s', expected %d with '%s'", cases[i].spec, st,
                     err.msg, cases[i].code, cases[i].message);
        assert_null(strchr(err.msg, '\n'));
    }
}

static int read_file(const char *path, iob_layer_list *list, iob_error *err)
{
    return iob_layers_read_file(path, list, err);
}

static void test_bench_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t rows;
    } files[] = {{"gpu-layers.csv", 24}, {"im2win-12.csv", 12}, {"convbench-2000.csv", 2000}};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bench/layers/%s", IOB_SOURCE_DIR, files[i].file);
        iob_layer_list list = {0};
        iob_error err = {0};
        if (read_file(path, &list, &err))
            fail_msg("%s: %s", path, err.msg);
        assert_int_equal(list.count, files[i].rows);
        for (size_t j = 0; j < list.count; j++) {
            iob_layer_counts c;
            assert_int_equal(iob_layer_counts_get(&list.items[j], &c, NULL), IOB_OK);
            assert_true(c.useful_macs <= c.macs);
            assert_true(c.input_used_elems <= c.input_elems);
        }
        if (i == 2) {
            /* 79 rows come from TF-style models whose declared p, q assume pad=same */
            assert_int_equal(list.nwarnings, 79);
            assert_non_null(strstr(list.warnings[0], ":29 tf_efficientnet_b6.blocks.2.0.conv_dw: "
                                   "declared p=66, q=66 but the shape gives p=64, q=64 (pad=same"));
        }
        if (i == 2) { /* first row: rexnetr_300.features.13.conv_exp.conv, 448 -> 2688 at 7x7 */
            assert_string_equal(list.items[0].name, "rexnetr_300.features.13.conv_exp.conv");
            assert_int_equal(list.items[0].k, 2688);
            assert_int_equal(list.items[0].p, 7);
        }
        iob_layer_list_free(&list);
    }
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(text, 1, len, fp);
    fclose(fp);
}

static void expect_file_error(const char *text, size_t len, const char *message)
{
    char path[] = "/tmp/iob_test_layerXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_text(path, text, len);
    iob_layer_list list = {0};
    iob_error err = {0};
    iob_status st = iob_layers_read_file(path, &list, &err);
    remove(path);
    iob_layer_list_free(&list);
    if (st == IOB_OK || !strstr(err.msg, message))
        fail_msg("expected an error with '%s', got %d '%s'", message, st, err.msg);
    assert_null(strchr(err.msg, '\n'));
}

static void test_bad_files(void **state)
{
    (void)state;
    const char trunc[] = "name,c,h,k,r\nok,3,10,4,3\nhalf,3,1";
    expect_file_error(trunc, sizeof trunc - 1, "3 fields, the header has 5 (truncated file?)");
    const char bin[] = "name,c,h\n\x01\x02\x00\x7f";
    expect_file_error(bin, sizeof bin - 1, "binary data");
    const char json_trunc[] = "[{\"c\": 3, \"h\": 10, \"k\": 4, \"r\": 3}, {\"c\": 3";
    expect_file_error(json_trunc, sizeof json_trunc - 1, "malformed JSON");
    const char json_bad[] = "[{\"c\": 3.5, \"h\": 10, \"k\": 4, \"r\": 3}]";
    expect_file_error(json_bad, sizeof json_bad - 1, "element 0: c=3.5: not a whole number");
    const char unknown_col[] = "name,c,h,k,r,colour\nx,3,10,4,3,red\n";
    expect_file_error(unknown_col, sizeof unknown_col - 1, "unknown column 'colour'");
    expect_file_error("", 0, "empty file");
    const char header_only[] = "name,c,h,k,r\n";
    expect_file_error(header_only, sizeof header_only - 1, "no layers");
    const char neg[] = "c,h,k,r\n3,-10,4,3\n";
    expect_file_error(neg, sizeof neg - 1, ":2: h=-10: must not be negative");
}

static void test_declared_output_size(void **state)
{
    (void)state;
    const char text[] = "name,c,h,k,r,p,q\nok,3,10,4,3,8,8\nbad,3,10,4,3,9,8\n";
    char path[] = "/tmp/iob_test_pqXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_text(path, text, sizeof text - 1);
    iob_layer_list list = {0};
    iob_error err = {0};
    assert_int_equal(iob_layers_read_file(path, &list, &err), IOB_OK);
    remove(path);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.nwarnings, 1);
    assert_non_null(strstr(list.warnings[0], ":3 bad: declared p=9, q=8 but the shape gives p=8, q=8"));
    assert_int_equal(list.items[1].p, 8);
    iob_layer_list_free(&list);
}

static void test_json_file(void **state)
{
    (void)state;
    const char text[] = "[{\"name\": \"a\", \"c\": 3, \"h\": 10, \"k\": 4, \"r\": 3, "
                        "\"pad\": \"same\", \"bias\": true},\n"
                        " {\"c\": \"8\", \"h\": 7, \"w\": 9, \"k\": 2, \"r\": 1, \"stride\": 2}]";
    char path[] = "/tmp/iob_test_jsonXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_text(path, text, sizeof text - 1);
    iob_layer_list list = {0};
    iob_error err = {0};
    iob_status st = iob_layers_read_file(path, &list, &err);
    remove(path);
    if (st)
        fail_msg("%s", err.msg);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].name, "a");
    assert_int_equal(list.items[0].p, 10);
    assert_int_equal(list.items[1].p, 4);
    assert_int_equal(list.items[1].q, 5);
    iob_layer_list_free(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_per_axis_and_asymmetric),
        cmocka_unit_test(test_pad_same),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_axis_counts_against_brute_force),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_bench_files),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_declared_output_size),
        cmocka_unit_test(test_json_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
