/* test_gpu_counters.c - hardware counters on the GPU (exit 77 = skipped without one): the naive
 * kernel's FFMA count is exactly the layer's MACs (one FFMA per tap, padding included), its
 * SM->L2 writes are exactly the output's sectors, its reads and DRAM traffic are plausible
 * against the compulsory traffic; multi-kernel targets (im2col + cuBLAS, cuDNN) are measured per
 * kernel and summed; and, when Nsight Compute is on the PATH, the ncu path agrees with CUPTI
 * within 2% on the same kernel (issue 7). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/gpu_test.h"

#include "iobound/gpu.h"

#define MAXK 64

static void print_counters(const iob_counters *c)
{
    printf("  %-40.40s SM rd %.0f sec, L2 rd %.0f sec, wr %.0f sec; DRAM rd %.0f B, wr %.0f B; "
           "smem %.0f B; FFMA %.0f; %.1f us\n", c->kernel, c->sm_read_sectors, c->l2_read_sectors,
           c->l2_write_sectors, c->dram_read_bytes, c->dram_write_bytes, c->smem_bytes, c->ffma,
           c->duration_ns / 1e3);
}

static void measure(const iob_layer *L, const iob_gpu_target *t, iob_counter_via via,
                    iob_counters *per, int *n, iob_counters *sum)
{
    iob_run_opts o;
    iob_run_opts_default(&o);
    iob_error err = {0};
    iob_status st = iob_gpu_measure_target(L, t, &o, via, per, MAXK, n, sum, &err);
    if (st)
        fail_msg("measure: %s", err.msg);
    for (int i = 0; i < *n && i < MAXK; i++)
        print_counters(&per[i]);
    print_counters(sum);
}

static const char *const naive_layer = "name=c32,n=1,c=32,h=28,k=64,r=3,pad=1";

static void test_naive_counts(void **state)
{
    (void)state;
    iob_layer L = layer(naive_layer);
    iob_layer_counts c;
    iob_layer_counts_get(&L, &c, NULL);
    iob_gpu_target t = ref_target(IOB_GPU_REF_NAIVE);
    iob_counters per[MAXK], sum;
    int n = 0;
    measure(&L, &t, IOB_VIA_CUPTI, per, &n, &sum);
    assert_int_equal(n, 1);
    /* one FFMA per tap, padding taps included */
    assert_true(per[0].ffma == (double)c.macs);
    /* stores: each output element once, coalesced, cudaMalloc'ed (256-byte aligned) */
    assert_true(per[0].l2_write_sectors == ceil(4.0 * (double)c.output_elems / 32));
    /* loads: at least every input and weight once, at most two sectors per MAC */
    double compulsory_sectors = 4.0 * (double)(c.input_used_elems + c.weight_elems) / 32;
    assert_true(per[0].l2_read_sectors >= compulsory_sectors);
    assert_true(per[0].l2_read_sectors <= 2.0 * (double)c.macs);
    /* the SM side (crossbar sectors) is measured too: every input and weight reaches an SM */
    assert_true(per[0].sm_read_sectors >= compulsory_sectors);
    /* the L2 was flushed: inputs and weights come from DRAM at least once */
    assert_true(per[0].dram_read_bytes >= 0.95 * 32 * compulsory_sectors);
    assert_true(per[0].dram_read_bytes <= 4.0 * 4 * (double)c.compulsory_elems);
    assert_true(per[0].duration_ns > 0);
    assert_true(per[0].smem_bytes == 0); /* the naive kernel uses no shared memory */
    assert_true(sum.ffma == per[0].ffma);
}

static void test_multi_kernel_sums(void **state)
{
    (void)state;
    iob_layer L = layer("name=res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1");
    iob_gpu_target targets[2];
    targets[0] = ref_target(IOB_GPU_REF_IM2COL_CUBLAS);
    memset(&targets[1], 0, sizeof targets[1]);
    targets[1].kind = IOB_TARGET_CUDNN; /* the fastest FMA algorithm */
    for (int i = 0; i < 2; i++) {
        iob_counters per[MAXK], sum;
        int n = 0;
        measure(&L, &targets[i], IOB_VIA_CUPTI, per, &n, &sum);
        assert_true(n >= (i == 0 ? 2 : 1)); /* gather + at least one GEMM kernel */
        double l2 = 0, ffma = 0, t = 0;
        for (int k = 0; k < n; k++) {
            l2 += per[k].l2_read_sectors;
            ffma += per[k].ffma;
            t += per[k].duration_ns;
        }
        assert_true(fabs(sum.l2_read_sectors - l2) <= 1e-9 * l2);
        assert_true(fabs(sum.ffma - ffma) <= 1e-9 * (ffma + 1));
        assert_true(fabs(sum.duration_ns - t) <= 1e-9 * t);
        assert_true(sum.kernel[0] != '\0');
    }
}

static int have_ncu(void)
{
    const char *e = getenv("IOB_NCU");
    if (e && *e)
        return 1;
    return system("command -v ncu >/dev/null 2>&1") == 0;
}

static void test_ncu_agrees_with_cupti(void **state)
{
    (void)state;
    if (!have_ncu()) {
        printf("  ncu not found (set IOB_NCU): the ncu comparison is skipped\n");
        return;
    }
    setenv("IOBOUND_EXE", IOB_CLI, 0);
    iob_layer L = layer(naive_layer);
    iob_gpu_target t = ref_target(IOB_GPU_REF_NAIVE);
    iob_counters a[MAXK], b[MAXK], sa, sb;
    int na = 0, nb = 0;
    measure(&L, &t, IOB_VIA_CUPTI, a, &na, &sa);
    measure(&L, &t, IOB_VIA_NCU, b, &nb, &sb);
    assert_int_equal(nb, 1);
    printf("  CUPTI vs ncu: L2 read %.0f / %.0f, DRAM read %.0f / %.0f, FFMA %.0f / %.0f\n",
           a[0].l2_read_sectors, b[0].l2_read_sectors, a[0].dram_read_bytes,
           b[0].dram_read_bytes, a[0].ffma, b[0].ffma);
    assert_true(a[0].ffma == b[0].ffma);
    assert_true(fabs(a[0].l2_read_sectors - b[0].l2_read_sectors) <= 0.02 * b[0].l2_read_sectors);
    assert_true(fabs(a[0].sm_read_sectors - b[0].sm_read_sectors) <= 0.02 * b[0].sm_read_sectors);
    assert_true(fabs(a[0].l2_write_sectors - b[0].l2_write_sectors) <=
                0.02 * b[0].l2_write_sectors);
}

int main(void)
{
    iob_error err = {0};
    if (iob_gpu_available(&err)) {
        printf("no GPU: %s\n", err.msg);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_counts),
        cmocka_unit_test(test_multi_kernel_sums),
        cmocka_unit_test(test_ncu_agrees_with_cupti),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
