/* test_validate_sweep.c - what a sweep writes when stages fail: every failing config becomes an
 * error record naming the stage and the reason (infeasible, wrong output, out of memory, a
 * sticky GPU error, a crashed or hung worker) and the sweep goes on with a fresh worker; without a
 * GPU it says so once and leaves the measured columns empty; inapplicable algorithms and a
 * failing model give one record each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "validate_fakes.h"

typedef struct notices {
    int n;
    char last[1024];
} notices;

static void on_notice(void *ctx, const char *line)
{
    notices *n = ctx;
    n->n++;
    snprintf(n->last, sizeof n->last, "%s", line);
}

static void read_all(const char *path, iob_record_list *list)
{
    iob_error err = {0};
    memset(list, 0, sizeof *list);
    if (iob_records_read(path, list, &err))
        fail_msg("%s", err.msg);
}

static const iob_record *find_cfg(const iob_record_list *l, int tile_k)
{
    char want[32];
    snprintf(want, sizeof want, "tile_k=%d,", tile_k);
    for (size_t i = 0; i < l->count; i++)
        if (strstr(l->items[i].config, want))
            return &l->items[i];
    fail_msg("no record of tile_k=%d", tile_k);
    return NULL;
}

static void test_failing_configs_become_error_records(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f.csv", dir);
    static const int tiles[] = {8, 16, 24, 32, 48, 80, 64};
    memcpy(fake_tiles, tiles, sizeof tiles);
    fake_ntiles = 7;
    iob_layer layers[1];
    iob_sweep_opts o;
    fake_opts(&o, layers, 1, path, IOB_RECFMT_CSV);
    o.measure = 1;
    o.measure_timeout_s = 1; /* tile_k=80 hangs */
    notices nt = {0};
    o.notice = on_notice;
    o.ctx = &nt;
    iob_sweep_result res;
    iob_error err = {0};
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    assert_int_equal(res.written, 8); /* cuDNN + 7 configs */
    assert_int_equal(res.errors, 6);
    assert_true(res.measured);
    assert_int_equal(res.worker_restarts, 3); /* after the crash, the GPU error, the hang */
    assert_int_equal(nt.n, 2);                /* no simulator; the first worker restart */

    iob_record_list l;
    read_all(path, &l);
    assert_int_equal(l.count, 8);
    const iob_record *r = &l.items[0];
    assert_string_equal(r->algo, "cudnn");
    assert_int_equal(r->status, IOB_REC_OK);
    assert_string_equal(r->variant, "IMPLICIT_PRECOMP_GEMM");
    assert_true(r->meas[IOB_LVL_TIME] == 2.5);
    assert_true(r->cudnn_tf32_ms == 1.25);

    r = find_cfg(&l, 8); /* the worker died: SIGABRT */
    assert_int_equal(r->status, IOB_REC_ERROR);
    assert_string_equal(r->error_stage, "measure");
    assert_string_equal(r->error_code, "GPU error");
    assert_non_null(strstr(r->error, "measurement worker killed by signal"));
    assert_int_equal(r->pred_state, IOB_STAGE_OK);
    assert_int_equal(r->meas_state, IOB_STAGE_FAILED);
    assert_true(isnan(r->meas[IOB_LVL_L2_READ]));

    r = find_cfg(&l, 16);
    assert_string_equal(r->error_code, "wrong result");
    assert_non_null(strstr(r->error, "measure: output differs from the FP64 reference"));

    r = find_cfg(&l, 24); /* infeasible: not simulated, not measured */
    assert_int_equal(r->status, IOB_REC_ERROR);
    assert_string_equal(r->error_stage, "model");
    assert_string_equal(r->error_code, "infeasible config");
    assert_int_equal(r->pred_state, IOB_STAGE_FAILED);
    assert_int_equal(r->sim_state, IOB_STAGE_NOT_RUN);
    assert_int_equal(r->meas_state, IOB_STAGE_NOT_RUN);

    r = find_cfg(&l, 32);
    assert_string_equal(r->error_code, "GPU error");
    assert_non_null(strstr(r->error, "illegal memory access"));

    r = find_cfg(&l, 48);
    assert_string_equal(r->error_code, "out of memory");

    r = find_cfg(&l, 80);
    assert_string_equal(r->error_code, "GPU error");
    assert_non_null(strstr(r->error, "no answer within 1 s"));

    r = find_cfg(&l, 64); /* after all that, a config that works is measured */
    assert_int_equal(r->status, IOB_REC_OK);
    assert_int_equal(r->meas_state, IOB_STAGE_OK);
    assert_int_equal(r->sim_state, IOB_STAGE_UNAVAILABLE);
    for (int lv = 0; lv < IOB_LVL_COUNT; lv++) {
        assert_true(r->pred[lv] == (64 * 1000 + 4) * (lv + 1));
        assert_true(fabs(r->relerr_pred[lv] + 1.0 / 11.0) < 1e-12);
        assert_true(isnan(r->relerr_sim[lv]));
    }
    assert_true(r->cudnn_fp32_ms == 2.5);
    assert_string_equal(r->cudnn_tf32_algo, "WINOGRAD_NONFUSED");
    iob_record_list_free(&l);
    remove_tmpdir(dir);
    fake_ntiles = 3;
    fake_tiles[0] = 16, fake_tiles[1] = 32, fake_tiles[2] = 64;
}

static void test_no_gpu_says_so_once(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/n.jsonl", dir);
    iob_layer layers[3];
    iob_sweep_opts o;
    fake_opts(&o, layers, 3, path, IOB_RECFMT_JSONL);
    o.measure = 1;
    o.hooks.gpu_probe = fake_probe_nogpu;
    notices nt = {0};
    o.notice = on_notice;
    o.ctx = &nt;
    iob_sweep_result res;
    iob_error err = {0};
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    assert_false(res.measured);
    assert_int_equal(res.written, 9); /* no cuDNN records without a GPU */
    assert_int_equal(res.errors, 0);
    assert_int_equal(nt.n, 2); /* no GPU; no simulator */
    iob_record_list l;
    read_all(path, &l);
    assert_int_equal(l.format, IOB_RECFMT_JSONL);
    assert_int_equal(l.count, 9);
    for (size_t i = 0; i < l.count; i++) {
        assert_int_equal(l.items[i].meas_state, IOB_STAGE_UNAVAILABLE);
        assert_true(isnan(l.items[i].meas[IOB_LVL_TIME]));
        assert_true(isnan(l.items[i].cudnn_fp32_ms));
        assert_int_equal(l.items[i].pred_state, IOB_STAGE_OK);
    }
    iob_record_list_free(&l);
    /* --machine device needs the GPU */
    o.machine_from_device = 1;
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_ENODEV);
    assert_non_null(strstr(err.msg, "--machine device needs a GPU"));
    remove_tmpdir(dir);
}

static iob_status configs_unsupported(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                      iob_config_select sel, int top_n, iob_config **out,
                                      size_t *count, iob_error *err)
{
    (void)L, (void)m, (void)sel, (void)top_n;
    *out = NULL;
    *count = 0;
    return iob_error_set(err, IOB_ENOTSUP, "no dataflow model for algorithm '%s'",
                         iob_algo_name(algo));
}

static iob_status sim_values(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                             double *levels, iob_error *err)
{
    (void)m;
    if (cfg->tile_k == 32)
        return iob_error_set(err, IOB_EINVAL, "trace generator: block 3 out of range");
    for (int l = 0; l < IOB_LVL_FFMA; l++) /* the simulator counts traffic, not time */
        levels[l] = fake_level(L, cfg, l);
    return IOB_OK;
}

static void test_model_failure_inapplicable_and_simulation(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.csv", dir);
    iob_layer layers[2];
    iob_sweep_opts o;
    fake_opts(&o, layers, 2, path, IOB_RECFMT_CSV);
    /* layer 1 becomes a 1x1 layer: Winograd does not apply */
    assert_int_equal(iob_layer_parse("name=pw,n=2,c=8,h=9,k=8,r=1", &layers[1], NULL), IOB_OK);
    o.algos[IOB_ALGO_WINOGRAD] = 1;
    o.hooks.simulate = sim_values;
    iob_sweep_result res;
    iob_error err = {0};
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    /* layer 0: direct 3 + winograd 3; layer 1: direct 3 + winograd inapplicable 1 */
    assert_int_equal(res.written, 10);
    assert_true(res.simulated);
    iob_record_list l;
    read_all(path, &l);
    assert_int_equal(l.count, 10);
    const iob_record *r = &l.items[0]; /* direct, tile_k=16, simulated */
    assert_int_equal(r->sim_state, IOB_STAGE_OK);
    assert_true(r->sim[IOB_LVL_L2_READ] == 16 * 1000 + 4);
    assert_true(isnan(r->sim[IOB_LVL_TIME]));
    assert_true(isnan(r->relerr_sim[IOB_LVL_L2_READ])); /* nothing measured to compare with */
    r = &l.items[1];                                     /* tile_k=32 */
    assert_int_equal(r->status, IOB_REC_ERROR);
    assert_string_equal(r->error_stage, "sim");
    assert_non_null(strstr(r->error, "sim: trace generator"));
    r = &l.items[3]; /* winograd: the bound of its F(2x2) fused variant */
    assert_string_equal(r->algo, "winograd");
    assert_string_equal(r->variant, "F(2x2,3x3) fused");
    r = &l.items[9];
    assert_string_equal(r->layer, "pw");
    assert_string_equal(r->algo, "winograd");
    assert_int_equal(r->status, IOB_REC_INAPPLICABLE);
    assert_string_equal(r->config, "");
    assert_non_null(strstr(r->error, "only 3x3 and 5x5 filters"));
    iob_record_list_free(&l);

    /* a model that cannot give configs: one error record per (layer, algorithm) */
    snprintf(path, sizeof path, "%s/m2.csv", dir);
    o.path = path;
    o.hooks.configs = configs_unsupported;
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    assert_int_equal(res.written, 4);
    assert_int_equal(res.errors, 3);
    read_all(path, &l);
    assert_string_equal(l.items[0].error_stage, "model");
    assert_string_equal(l.items[0].error_code, "not supported");
    assert_non_null(strstr(l.items[0].error, "no dataflow model for algorithm 'direct'"));
    assert_true(l.items[0].bound_gpu_bytes > 0); /* the bound is there all the same */
    iob_record_list_free(&l);
    remove_tmpdir(dir);
}

static void test_bad_options(void **state)
{
    (void)state;
    iob_layer layers[1];
    iob_sweep_opts o;
    fake_opts(&o, layers, 1, "/nonexistent-dir/x.csv", IOB_RECFMT_CSV);
    iob_sweep_result res;
    iob_error err = {0};
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.csv"));
    o.nlayers = 0;
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
    o.nlayers = 1;
    memset(o.algos, 0, sizeof o.algos);
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
    o.algos[0] = 1;
    o.select = IOB_CFG_TOP;
    o.top_n = 0;
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_configs_become_error_records),
        cmocka_unit_test(test_no_gpu_says_so_once),
        cmocka_unit_test(test_model_failure_inapplicable_and_simulation),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
