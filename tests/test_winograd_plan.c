/* test_winograd_plan.c - the launch plan of the fused Winograd kernel (gpu/host_winograd.c):
 * launches, grids, blocks, shared memory, arguments, workspaces, macros (layer, config, geometry,
 * matrices one entry per macro with no commas), tolerance, split-sum launch, embedded source,
 * and refusals passed through from the dataflow check; the paired term rule's macros (WBT*, WAT*
 * codes), read back and executed here, give the bits and operation counts of iob_wino_apply_f32.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu/host_kernels.h"
#include "iobound/plan.h"
#include "iobound/winograd.h"
#include "model/winograd_dataflow.h"

static iob_plan plan_of(const char *spec, const char *cfg_text, iob_status want)
{
    iob_layer L;
    iob_config c;
    iob_machine m;
    iob_plan p;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse(spec, &L, &err), IOB_OK);
    assert_int_equal(iob_config_parse(cfg_text, &c, &err), IOB_OK);
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    iob_status st = iob_plan_build(&L, &c, &m, &p, &err);
    if (st != want)
        fail_msg("%s | %s: status %d (%s)", spec, cfg_text, st, err.msg);
    return p;
}

static int has_define(const iob_launch *l, const char *d)
{
    size_t n = strlen(d);
    for (const char *s = l->defines; (s = strstr(s, d)); s += n)
        if ((s == l->defines || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
            return 1;
    return 0;
}

static void test_plan_f4(void **state)
{
    (void)state;
    iob_plan p = plan_of("n=32,c=256,h=56,k=256,r=3,pad=1",
                         "algo=winograd,wino_m=4,tile_k=32,tile_p=16,tile_q=16,tile_c=8,"
                         "micro_k=4,micro_p=4,micro_q=4,stages=2,split_c=1", IOB_OK);
    assert_int_equal(p.nprep, 1);
    assert_int_equal(p.nlaunch, 1);
    const iob_launch *f = &p.launch[0], *u = &p.prep[0];
    assert_string_equal(f->file, "winograd.cu");
    assert_string_equal(f->entry, "iob_winograd_fused");
    assert_string_equal(u->entry, "iob_winograd_filter");
    /* grid: 4x4 spatial blocks, 8 k-blocks, 32 images; 288 threads; 28224 floats of smem */
    assert_int_equal(f->grid[0], 16);
    assert_int_equal(f->grid[1], 8);
    assert_int_equal(f->grid[2], 32);
    assert_int_equal(f->block[0], 288);
    assert_int_equal(f->block[1], 1);
    assert_int_equal(f->smem_bytes, 28224 * 4);
    assert_int_equal(f->nargs, 3);
    assert_int_equal(f->args[0].buf, IOB_BUF_INPUT);
    assert_int_equal(f->args[1].buf, IOB_BUF_WORK0);
    assert_int_equal(f->args[2].buf, IOB_BUF_OUTPUT);
    /* prep: one thread per (k, c) of U: 256*256 threads in blocks of 256 */
    assert_int_equal(u->grid[0], 256);
    assert_int_equal(u->block[0], 256);
    assert_int_equal(u->nargs, 2);
    assert_int_equal(u->args[0].buf, IOB_BUF_FILTER);
    assert_int_equal(u->args[1].buf, IOB_BUF_WORK0);
    assert_int_equal(p.work_bytes[0], 36LL * 256 * 256 * 4);
    assert_int_equal(p.work_bytes[1], 0);
    /* one set of macros for every launch, all of them without commas (nvcc splits at commas) */
    assert_string_equal(u->defines, f->defines);
    assert_null(strchr(f->defines, ','));
    const char *want[] = {"-DLAYER_N=32", "-DLAYER_C=256", "-DLAYER_PAD_TOP=1", "-DWINO_M=4",
                          "-DTILE_K=32", "-DMICRO_P=4", "-DSTAGES=2", "-DSPLIT_C=1",
                          "-DWINO_KS=32", "-DWINO_KR=32", "-DWINO_BR=2", "-DWINO_YS=129",
                          "-DWINO_THREADS=288", "-DWINO_SMEM_FLOATS=28224",
                          "-DWINO_MIN_BLOCKS=1", "-DWBT0=4", "-DWBT2=-5", "-DWBT35=1",
                          "-DWAT21=8", "-DWAT22=-8", "-DWG0=0.25",
                          "-DWG3=-0.16666666666666666", "-DWG9=0.041666666666666664"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_define(f, want[i]))
            fail_msg("%s missing from %s", want[i], f->defines);
    assert_false(has_define(f, "-DWBT36=0")); /* 36 entries only */
    assert_true(p.tolerance == 2e-5);
    /* the source is embedded in the library */
    const iob_kernel_file *k = iob_kernel_file_find("winograd.cu");
    assert_non_null(k);
    assert_non_null(strstr(k->source, "iob_winograd_fused"));
}

static void test_plan_f2_split(void **state)
{
    (void)state;
    iob_plan p = plan_of("n=1,c=512,h=14,k=512,r=3,pad=1",
                         "algo=winograd,wino_m=2,tile_k=64,tile_p=8,tile_q=16,tile_c=8,"
                         "micro_k=4,micro_p=4,micro_q=4,stages=3,split_c=4", IOB_OK);
    assert_int_equal(p.nlaunch, 2);
    const iob_launch *f = &p.launch[0], *s = &p.launch[1];
    assert_int_equal(f->args[2].buf, IOB_BUF_WORK1);
    assert_string_equal(s->entry, "iob_winograd_sum");
    assert_int_equal(s->args[0].buf, IOB_BUF_WORK1);
    assert_int_equal(s->args[1].buf, IOB_BUF_OUTPUT);
    /* grid: 2 x 1 spatial blocks, 8 k-blocks, 1 image x 4 parts */
    assert_int_equal(f->grid[0], 2);
    assert_int_equal(f->grid[1], 8);
    assert_int_equal(f->grid[2], 4);
    /* threads: 16/4 = 4 groups x (64/4) x (4*8/4) = 512 */
    assert_int_equal(f->block[0], 512);
    /* partials: 4 planes of 512*14*14 = 100352 floats (already a multiple of 8) */
    assert_int_equal(p.work_bytes[1], 4LL * 100352 * 4);
    assert_int_equal(s->grid[0], 100352 / 256);
    assert_int_equal(s->block[0], 256);
    assert_true(has_define(f, "-DWBT15=1"));
    assert_false(has_define(f, "-DWBT16=0"));
    assert_true(p.tolerance == 1e-4);
}

static void test_plan_refusals(void **state)
{
    (void)state;
    plan_of("n=1,c=64,h=56,k=64,r=3,pad=1,stride=2",
            "algo=winograd,wino_m=2,tile_k=32,tile_p=8,tile_q=8,tile_c=8,micro_k=4,micro_p=2,"
            "micro_q=4,stages=2,split_c=1", IOB_EINFEASIBLE);
    plan_of("n=1,c=64,h=56,k=64,r=3,pad=1",
            "algo=winograd,wino_m=4,tile_k=64,tile_p=16,tile_q=16,tile_c=16,micro_k=8,"
            "micro_p=4,micro_q=4,stages=2,split_c=1", IOB_EINFEASIBLE);
}

/* Every config of a layer's space gives a plan whose macros fit (the largest values of every
 * field and of the matrices) and whose launch geometry matches the model's resources. */
static void test_plan_whole_space(void **state)
{
    (void)state;
    iob_machine m;
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    assert_int_equal(iob_layer_parse("n=64,c=1024,h=113,w=97,k=2048,r=3,pad=1,groups=2", &L,
                                     &err), IOB_OK);
    iob_config *all;
    size_t n;
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_WINOGRAD, &m, &all, &n, &err), IOB_OK);
    assert_true(n > 100);
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        iob_plan p;
        iob_resources r;
        if (iob_plan_build(&L, &all[i], &m, &p, &err))
            fail_msg("config %zu: %s", i, err.msg);
        assert_int_equal(iob_dataflow_check(&L, &all[i], &m, &r, &err), IOB_OK);
        assert_int_equal(p.launch[0].block[0], (uint32_t)r.threads);
        assert_int_equal(p.launch[0].smem_bytes, r.smem_bytes);
        assert_int_equal((int64_t)p.launch[0].grid[0] * p.launch[0].grid[1] * p.launch[0].grid[2],
                         r.grid_blocks);
        assert_int_equal(p.work_bytes[0] + p.work_bytes[1], r.workspace_bytes);
        size_t len = strlen(p.launch[0].defines);
        longest = len > longest ? len : longest;
    }
    print_message("  %zu plans, longest macro string %zu of %zu bytes\n", n, longest,
                  sizeof ((iob_launch *)0)->defines);
    free(all);
}

/* The value of macro name in l's defines; fails the test when it is missing. */
static int macro_int(const iob_launch *l, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "-D%s=", name);
    size_t n = strlen(key);
    for (const char *s = l->defines; (s = strstr(s, key)); s += n)
        if (s == l->defines || s[-1] == ' ')
            return atoi(s + n);
    fail_msg("%s missing from %s", name, l->defines);
    return -1;
}

/* y = M x by the codes of prefix in l's macros (the meaning is in gpu/host_winograd.c,
 * define_rule, and gpu/kernels/winograd.cu, WP_*), counting FMUL and FADD/FSUB. */
static void run_codes(const iob_launch *l, const char *prefix, const float *M, int rows, int n,
                      const float *x, float *y, iob_wino_ops *ops)
{
    char name[32];
    float ve[16], vo[16];
    snprintf(name, sizeof name, "%sC", prefix);
    int cols = macro_int(l, name);
    for (int c = 0; c < n; c++) {
        int f = 0;
        if (cols && c + 1 < n) {
            snprintf(name, sizeof name, "%sF%d", prefix, c);
            f = macro_int(l, name);
        }
        ve[c] = (f & 1) ? x[c] + x[c + 1] : x[c];
        vo[c] = (f & 2) ? x[c] - x[c + 1] : x[c];
        ops->fadd += (f & 1) + (f >> 1);
    }
    for (int r = 0; r < rows; r++) {
        snprintf(name, sizeof name, "%sR%d", prefix, r);
        int kind = macro_int(l, name), parities = kind == 1 ? 2 : 1;
        assert_true(kind >= 0 && kind <= 3);
        if (kind >= 2) {
            if (kind == 3)
                y[r] = 0.0f;
            continue;
        }
        float sum[2] = {0, 0};
        for (int p = 0; p < parities; p++) {
            float acc = 0.0f;
            for (int i = p; i < n; i += parities) {
                snprintf(name, sizeof name, "%sO%d%d", prefix, r, i);
                int op = macro_int(l, name);
                float v = cols ? ((r & 1) ? vo[i] : ve[i]) : x[i], c = M[r * n + i];
                assert_true(op >= 0 && op <= 6);
                ops->fmul += op == 3 || op == 6;
                ops->fadd += op >= 4;
                acc = op == 1 ? v : op == 2 ? -v : op == 3 ? c * v : op == 4 ? acc + v
                    : op == 5 ? acc - v : op == 6 ? acc + c * v : acc;
            }
            sum[p] = acc;
        }
        if (kind == 1) {
            y[r] = sum[0] + sum[1];
            y[r + 1] = sum[0] - sum[1];
            ops->fadd += 2;
        } else {
            y[r] = sum[0];
        }
    }
}

static void test_rule_macros(void **state)
{
    (void)state;
    static const char *const cfgs[] = {
        "algo=winograd,wino_m=4,tile_k=32,tile_p=16,tile_q=16,tile_c=8,micro_k=4,micro_p=4,"
        "micro_q=4,stages=2,split_c=1",
        "algo=winograd,wino_m=2,tile_k=64,tile_p=8,tile_q=16,tile_c=8,micro_k=4,micro_p=4,"
        "micro_q=4,stages=3,split_c=4",
    };
    for (int k = 0; k < 2; k++) {
        iob_plan p = plan_of("n=1,c=512,h=16,k=512,r=3,pad=1", cfgs[k], IOB_OK);
        int m = k ? 2 : 4, al = m + 2;
        iob_winograd w;
        assert_int_equal(iob_winograd_make(m, 3, &w, NULL), IOB_OK);
        for (int at = 0; at < 2; at++) {
            int rows = at ? m : al;
            float M[36], x[6], want[6], got[6];
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < al; i++)
                    M[r * al + i] = (float)(at ? w.AT[r][i] : w.BT[r][i]);
            uint64_t seed = 12345;
            for (int t = 0; t < 100; t++) {
                iob_wino_ops ow = {0, 0}, og = {0, 0};
                for (int i = 0; i < al; i++) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    x[i] = (float)((double)(seed >> 40) / 8388608.0 - 1.0);
                    x[i] *= t % 7 ? 1.0f : 1e-38f; /* some denormal results */
                }
                iob_wino_apply_f32(M, rows, al, x, want, 1, &ow);
                run_codes(&p.launch[0], at ? "WAT" : "WBT", M, rows, al, x, got, &og);
                assert_memory_equal(got, want, sizeof(float) * (size_t)rows);
                assert_int_equal(og.fmul, ow.fmul);
                assert_int_equal(og.fadd, ow.fadd);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_f4),
        cmocka_unit_test(test_plan_f2_split),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test(test_plan_whole_space),
        cmocka_unit_test(test_rule_macros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
