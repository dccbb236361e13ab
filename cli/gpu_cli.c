/* gpu_cli.c - shared pieces of the GPU commands (see gpu_cli.h). */
#include "cli/gpu_cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "iobound/tune.h"

int iob_cli_algo_parse(const char *prog, const char *text, iob_cli_algo *a)
{
    memset(a, 0, sizeof *a);
    if (!strcmp(text, "cudnn")) {
        a->kind = IOB_CLI_ALGO_CUDNN;
        return 0;
    }
    if (iob_gpu_ref_parse(text, &a->ref, NULL) == IOB_OK) {
        a->kind = IOB_CLI_ALGO_REF;
        return 0;
    }
    if (iob_algo_parse(text, &a->algo, NULL) == IOB_OK) {
        a->kind = IOB_CLI_ALGO_MODEL;
        return 0;
    }
    return iob_cli_usage_error(prog, "--algo %s: unknown (known: direct, winograd, im2col, "
                               "im2win, gemm, naive, im2col-cublas, cudnn)", text);
}

/* "tile_k=64,..." -> "algo=A,tile_k=64,..." when the text names no algorithm */
static iob_status parse_config(const iob_cli_algo *a, const char *text, iob_config *cfg,
                               iob_error *err)
{
    char buf[1100];
    if (strstr(text, "algo="))
        snprintf(buf, sizeof buf, "%s", text);
    else
        snprintf(buf, sizeof buf, "algo=%s,%s", iob_algo_name(a->algo), text);
    iob_status st = iob_config_parse(buf, cfg, err);
    if (!st && cfg->algo != a->algo)
        st = iob_error_set(err, IOB_EINVAL, "--config names algo=%s but --algo is %s",
                           iob_algo_name(cfg->algo), iob_algo_name(a->algo));
    return st;
}

int iob_cli_config_check(const char *prog, const iob_cli_algo *a, const char *config)
{
    if (a->kind != IOB_CLI_ALGO_MODEL) {
        if (config)
            return iob_cli_usage_error(prog, "--config applies to the model's algorithms "
                                       "(direct, winograd, im2col, im2win, gemm, winograd-nonfused), not to %s",
                                       a->kind == IOB_CLI_ALGO_CUDNN ? "cudnn"
                                                                     : iob_gpu_ref_name(a->ref));
        return 0;
    }
    if (!config)
        return iob_cli_usage_error(prog, "--algo %s needs --config C, best or tuned",
                                   iob_algo_name(a->algo));
    if (!strcmp(config, "best") || !strcmp(config, "tuned"))
        return 0;
    iob_config cfg;
    iob_error err;
    if (parse_config(a, config, &cfg, &err))
        return iob_cli_usage_error(prog, "--config: %s", err.msg);
    return 0;
}

iob_status iob_cli_target(const iob_cli_algo *a, const char *config, const char *db,
                          const iob_layer *L, const iob_machine *m, iob_gpu_target *t,
                          iob_error *err)
{
    memset(t, 0, sizeof *t);
    switch (a->kind) {
    case IOB_CLI_ALGO_CUDNN:
        t->kind = IOB_TARGET_CUDNN;
        return IOB_OK;
    case IOB_CLI_ALGO_REF:
        t->kind = IOB_TARGET_REF;
        t->ref = a->ref;
        return IOB_OK;
    case IOB_CLI_ALGO_MODEL:
        break;
    }
    t->kind = IOB_TARGET_CONFIG;
    if (!strcmp(config, "tuned")) {
        /* the tuner stores one winner per layer shape and device (docs/tune.md) */
        iob_status st = iob_tune_db_config(db, m, 1, L, &t->cfg, NULL, err);
        if (!st && !a->any && t->cfg.algo != a->algo)
            st = iob_error_set(err, IOB_ENOTSUP, "--config tuned: the tuned config of this layer "
                               "is of algo=%s, not %s (leave --algo out to run it)",
                               iob_algo_name(t->cfg.algo), iob_algo_name(a->algo));
        return st;
    }
    if (!strcmp(config, "best"))
        return iob_dataflow_best(L, a->algo, m, IOB_OBJ_TIME, &t->cfg, NULL, err);
    return parse_config(a, config, &t->cfg, err);
}

double iob_cli_floor_s(const iob_layer *L, const iob_machine *m, const char **which)
{
    iob_layer_counts c;
    *which = "-";
    double rate = iob_machine_fp32_rate(m), bw = iob_machine_dram_bw(m);
    if (iob_layer_counts_get(L, &c, NULL) || rate <= 0 || bw <= 0)
        return 0;
    double tf = (double)c.flops / rate, tm = 4.0 * (double)c.compulsory_elems / bw;
    *which = tf >= tm ? "fp32" : "dram";
    return tf >= tm ? tf : tm;
}

void iob_cli_gpu_header(FILE *out, const iob_machine *m)
{
    int major = 0, minor = 0;
    iob_gpu_nvrtc_version(&major, &minor, NULL);
    long v = iob_gpu_cudnn_version();
    fprintf(out, "device: %s; %d SMs, L2 %lld MiB in %d partitions\n", m->description,
            m->sm_count, (long long)(m->l2_bytes >> 20), m->l2_partitions);
    fprintf(out, "cuDNN %ld.%ld.%ld loaded (cudnnGetVersion %ld), NVRTC %d.%d\n", v / 10000,
            (v / 100) % 100, v % 100, v, major, minor);
    if (iob_machine_fp32_rate(m) > 0 && iob_machine_dram_bw(m) > 0)
        fprintf(out, "roofline ceilings: FP32 %.1f TFLOP/s, DRAM %.2f TB/s%s\n",
                iob_machine_fp32_rate(m) / 1e12, iob_machine_dram_bw(m) / 1e12,
                m->fp32_measured > 0 ? " (measured on such a machine, model/machine.c)" : "");
    else
        fprintf(out, "roofline ceilings: unknown for this device (no matching preset)\n");
}

const char *iob_cli_bytes_or_dash(double bytes, char *buf, size_t size)
{
    if (isnan(bytes)) {
        snprintf(buf, size, "-");
        return buf;
    }
    return iob_fmt_bytes(bytes, buf, size);
}

int iob_cli_gpu_option(iob_cli *cli, int opt, const char *arg)
{
    if (opt == '?')
        return iob_cli_usage_error(cli->prog, "unknown or incomplete option");
    int rc = iob_cli_common_option(cli, opt, arg);
    return rc < 0 ? iob_cli_usage_error(cli->prog, "unexpected option") : rc;
}

int iob_cli_gpu_finish(iob_cli *cli, int argc, char **argv, const char *algo_text,
                       iob_cli_algo *a, const char *config, iob_machine *m)
{
    int rc;
    if (optind < argc)
        return iob_cli_usage_error(cli->prog, "unexpected argument '%s'", argv[optind]);
    if (!algo_text) {
        if (!config || strcmp(config, "tuned"))
            return iob_cli_usage_error(cli->prog, "--algo is required (it may be left out only "
                                       "with --config tuned)");
        memset(a, 0, sizeof *a);
        a->kind = IOB_CLI_ALGO_MODEL;
        a->any = 1;
    }
    if (!cli->have_layers && !cli->net)
        return iob_cli_usage_error(cli->prog, "give the layers: --layer SPEC, --layers FILE or "
                                   "--net NAME");
    if ((rc = iob_cli_config_check(cli->prog, a, config)) || (rc = iob_cli_finish(cli, NULL)))
        return rc;
    iob_error err;
    if (iob_gpu_available(&err) || iob_machine_query_device(m, &err))
        return iob_cli_fail(cli, &err);
    return 0;
}
