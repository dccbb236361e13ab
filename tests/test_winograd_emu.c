/* test_winograd_emu.c - runs gpu/kernels/winograd.cu itself on the CPU: the file is compiled as
 * C with tests/cuda_emu.h (one POSIX thread per CUDA thread, barriers, deferred cp.async, NaN
 * shared memory), with exactly the macros of the plan that gpu/host_winograd.c builds, and its
 * prep and main launches are run with the plan's grids on small layers. Checked:
 *   - every output written (the output starts as a NaN pattern);
 *   - bit-identical to tests/winograd_ref.h's FP32 emulation of the kernel's operation order;
 *   - within the plan's tolerance of an FP64 direct convolution (error metric of docs/model.md);
 *   - the kernel's own global accesses (logged by the emulator: every cp.async source, load and
 *     store, with its block and pipeline stage), turned into sectors and deduplicated per
 *     (launch, block, stage), are exactly the accesses of sim/trace_winograd.c's trace.
 * Layers cover odd sizes, P and Q not multiples of m or of the tile, C not a multiple of tile_c,
 * padding 0 and 1, batch 2, groups, split_c > 1, stages 2 and 3, every vector width.
 * Needs a C compiler at run time (cc, or $CC); the shared objects go to a temporary folder.
 */
#include <dlfcn.h>
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

#include "iobound/plan.h"
#include "iobound/trace.h"
#include "tests/emu_build.h"
#include "tests/emu_keys.h"
#include "tests/winograd_ref.h"

typedef void (*counts_get_fn)(emu_counts *);
typedef void (*log_start_fn)(int);
typedef size_t (*log_get_fn)(const emu_access **);

/* The emulated kernel's logged accesses against the trace of the same config. */
static void compare_with_trace(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                               float *const buf[6], const int64_t sizes[6], const emu_access *log,
                               size_t nlog, const char *what)
{
    iob_trace tr;
    iob_error err = {0};
    if (iob_trace_build(L, cfg, m, &tr, &err))
        fail_msg("%s: trace: %s", what, err.msg);
    const uint64_t base[6] = {tr.layout.input, tr.layout.filter, tr.layout.output,
                              tr.layout.work[0], tr.layout.work[1], tr.layout.work[2]};
    key_vec emu = {0}, trc = {0};
    for (size_t i = 0; i < nlog; i++) {
        const char *a = log[i].addr;
        int b;
        for (b = 0; b < 6; b++)
            if (buf[b] && a >= (const char *)buf[b] && a < (const char *)buf[b] + sizes[b])
                break;
        if (b == 6)
            fail_msg("%s: the kernel accessed %p outside every buffer", what, log[i].addr);
        uint64_t addr = base[b] + (uint64_t)(a - (const char *)buf[b]);
        key_push(&emu, (acc_key){(uint64_t)log[i].launch, log[i].block, log[i].stage,
                                 (uint64_t)log[i].write, addr & ~31ull});
    }
    for (int k = 0; k < tr.nkernels; k++)
        for (int64_t b = 0; b < tr.kernel[k].blocks; b++) {
            iob_trace_sink sink = {trace_emit, &trc};
            trc.launch = k;
            trc.block = b;
            assert_int_equal(tr.kernel[k].block(tr.kernel[k].state, b, &sink, &err), IOB_OK);
        }
    size_t ne = key_unique(&emu), before = trc.n, nt = key_unique(&trc);
    if (nt != before)
        fail_msg("%s: the trace repeats %zu sectors within a stage", what, before - nt);
    size_t i = 0;
    while (i < ne && i < nt && !key_cmp(&emu.v[i], &trc.v[i]))
        i++;
    if (i < ne || i < nt) {
        const acc_key *e = i < ne ? &emu.v[i] : NULL, *t = i < nt ? &trc.v[i] : NULL;
        fail_msg("%s: kernel and trace differ (%zu vs %zu sector accesses); first difference: "
                 "kernel (launch %lld block %lld stage %lld write %lld sector %#llx), "
                 "trace (launch %lld block %lld stage %lld write %lld sector %#llx)",
                 what, ne, nt, e ? (long long)e->launch : -1, e ? (long long)e->block : -1,
                 e ? (long long)e->stage : -1, e ? (long long)e->write : -1,
                 e ? (unsigned long long)e->sector : 0, t ? (long long)t->launch : -1,
                 t ? (long long)t->block : -1, t ? (long long)t->stage : -1,
                 t ? (long long)t->write : -1, t ? (unsigned long long)t->sector : 0);
    }
    free(emu.v);
    free(trc.v);
    iob_trace_free(&tr);
}

static int setup(void **state)
{
    (void)state;
    return emu_dir_open("wino_emu");
}

static int teardown(void **state)
{
    (void)state;
    emu_dir_close();
    return 0;
}

/* Runs one (layer, config) through the emulated kernel and checks it. */
static void check_case(const char *spec, const char *cfg_text)
{
    iob_layer L;
    iob_config cfg;
    iob_machine mach;
    iob_error err = {0};
    iob_plan plan;
    assert_int_equal(iob_layer_parse(spec, &L, &err), IOB_OK);
    assert_int_equal(iob_config_parse(cfg_text, &cfg, &err), IOB_OK);
    assert_int_equal(iob_machine_get("h100-sxm", &mach, &err), IOB_OK);
    if (iob_plan_build(&L, &cfg, &mach, &plan, &err))
        fail_msg("%s | %s: %s", spec, cfg_text, err.msg);
    for (int i = 1; i < plan.nlaunch; i++)
        assert_string_equal(plan.launch[i].defines, plan.launch[0].defines);
    assert_string_equal(plan.prep[0].defines, plan.launch[0].defines);
    void *lib = emu_build_next(plan.launch[0].file, plan.launch[0].defines);
    log_start_fn log_start = (log_start_fn)dlsym(lib, "iob_emu_log_start");
    log_get_fn log_get = (log_get_fn)dlsym(lib, "iob_emu_log_get");
    assert_non_null(log_start);
    assert_non_null(log_get);
    counts_get_fn counts_get = (counts_get_fn)dlsym(lib, "iob_emu_counts_get");
    void (*log_clear)(void) = (void (*)(void))dlsym(lib, "iob_emu_log_clear");
    assert_non_null(counts_get);
    assert_non_null(log_clear);

    size_t nx = (size_t)(L.n * L.c * L.h * L.w), nw = (size_t)(L.k * (L.c / L.groups) * 9);
    size_t ny = (size_t)(L.n * L.k * L.p * L.q);
    float *buf[6] = {0};
    int64_t sizes[6] = {(int64_t)nx * 4, (int64_t)nw * 4, (int64_t)ny * 4, plan.work_bytes[0],
                        plan.work_bytes[1], plan.work_bytes[2]};
    buf[IOB_BUF_INPUT] = malloc(nx * 4);
    buf[IOB_BUF_FILTER] = malloc(nw * 4);
    buf[IOB_BUF_OUTPUT] = malloc(ny * 4);
    for (int i = 0; i < IOB_PLAN_WORK; i++)
        if (plan.work_bytes[i]) {
            buf[IOB_BUF_WORK0 + i] = malloc((size_t)plan.work_bytes[i]);
            memset(buf[IOB_BUF_WORK0 + i], 0xff, (size_t)plan.work_bytes[i]);
        }
    wino_ref_fill(buf[IOB_BUF_INPUT], nx, 11);
    wino_ref_fill(buf[IOB_BUF_FILTER], nw, 12);
    memset(buf[IOB_BUF_OUTPUT], 0xff, ny * 4); /* NaN */
    log_start(-1);
    for (int i = 0; i < plan.nprep; i++)
        emu_launch(lib, &plan.prep[i], buf);
    emu_counts sum = {0}, one;
    for (int i = 0; i < plan.nlaunch; i++) {
        log_start(i);
        emu_launch(lib, &plan.launch[i], buf);
        counts_get(&one);
        for (size_t f = 0; f < sizeof sum / sizeof(uint64_t); f++)
            ((uint64_t *)&sum)[f] += ((const uint64_t *)&one)[f];
    }
    log_start(-1);
    char what[512];
    snprintf(what, sizeof what, "%s | %s", spec, cfg_text);
    /* the closed form's shared-memory bytes, FFMA and FLOPs against what the kernel executed */
    iob_traffic t;
    assert_int_equal(iob_dataflow_predict(&L, &cfg, &mach, &t, &err), IOB_OK);
    assert_int_equal(t.smem_read_bytes, sum.lds_bytes);
    assert_int_equal(t.smem_write_bytes, sum.sts_bytes + sum.cp_async_bytes);
    assert_int_equal(t.ffma, sum.ffma);
    assert_true(t.flops == 2.0 * (double)sum.ffma + (double)sum.fmul + (double)sum.fadd);
    const emu_access *log;
    size_t nlog = log_get(&log);
    compare_with_trace(&L, &cfg, &mach, buf, sizes, log, nlog, what);
    log_clear();

    float *want = malloc(ny * 4);
    double *ref = malloc(ny * 8), *abs_sum = malloc(ny * 8);
    assert_int_equal(wino_ref_kernel32(&L, &cfg, buf[IOB_BUF_INPUT], buf[IOB_BUF_FILTER], want), 0);
    wino_ref_direct64(&L, buf[IOB_BUF_INPUT], buf[IOB_BUF_FILTER], ref, abs_sum);
    double worst = 0;
    size_t differ = 0;
    for (size_t i = 0; i < ny; i++) {
        float got = buf[IOB_BUF_OUTPUT][i];
        if (got != got)
            fail_msg("%s | %s: output %zu not written", spec, cfg_text, i);
        differ += memcmp(&got, &want[i], 4) != 0;
        double e = wino_ref_err(got, ref[i], abs_sum[i]);
        worst = e > worst ? e : worst;
    }
    if (differ)
        fail_msg("%s | %s: %zu of %zu outputs differ from the FP32 emulation", spec, cfg_text,
                 differ, ny);
    if (!(worst <= plan.tolerance))
        fail_msg("%s | %s: error %.3g above the tolerance %.3g", spec, cfg_text, worst,
                 plan.tolerance);
    print_message("  %-46s %-100s err %.2e\n", spec, cfg_text, worst);
    free(want);
    free(ref);
    free(abs_sum);
    for (int i = 0; i < 6; i++)
        free(buf[i]);
    dlclose(lib);
}

static void test_f2_small(void **state)
{
    (void)state;
    /* odd sizes, C not a multiple of tile_c, P not a multiple of the tile, pad 1, batch 2 */
    check_case("n=2,c=5,h=9,w=11,k=8,r=3,pad=1",
               "algo=winograd,wino_m=2,tile_k=8,tile_p=4,tile_q=6,tile_c=2,micro_k=4,micro_p=4,"
               "micro_q=2,stages=2,split_c=1");
    /* pad 0, three stages, scalar loads (micro 1), more threads than patch positions */
    check_case("n=1,c=3,h=7,w=8,k=4,r=3,pad=0",
               "algo=winograd,wino_m=2,tile_k=4,tile_p=4,tile_q=4,tile_c=1,micro_k=1,micro_p=2,"
               "micro_q=1,stages=3,split_c=1");
}

static void test_f4_small(void **state)
{
    (void)state;
    check_case("n=2,c=6,h=10,w=13,k=12,r=3,pad=1",
               "algo=winograd,wino_m=4,tile_k=8,tile_p=8,tile_q=4,tile_c=4,micro_k=4,micro_p=9,"
               "micro_q=2,stages=2,split_c=1");
    /* k-blocks with a partial last block, 4-wide tile loads, 3 stages */
    check_case("n=1,c=9,h=9,w=9,k=20,r=3,pad=1",
               "algo=winograd,wino_m=4,tile_k=16,tile_p=8,tile_q=8,tile_c=4,micro_k=8,micro_p=3,"
               "micro_q=4,stages=3,split_c=1");
}

static void test_groups_and_split(void **state)
{
    (void)state;
    check_case("n=2,c=8,h=6,w=7,k=8,r=3,pad=1,groups=2",
               "algo=winograd,wino_m=2,tile_k=4,tile_p=4,tile_q=4,tile_c=2,micro_k=2,micro_p=4,"
               "micro_q=2,stages=2,split_c=2");
    check_case("n=1,c=13,h=11,w=5,k=6,r=3,pad=1",
               "algo=winograd,wino_m=4,tile_k=8,tile_p=8,tile_q=8,tile_c=2,micro_k=4,micro_p=6,"
               "micro_q=4,stages=2,split_c=3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f2_small),
        cmocka_unit_test(test_f4_small),
        cmocka_unit_test(test_groups_and_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
