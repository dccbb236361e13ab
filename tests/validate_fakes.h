/* validate_fakes.h - stand-in stages for the sweep tests (test_validate_*.c): configs and
 * predictions with known values, and GPU stages that succeed, fail, crash or hang on chosen
 * configs, so that the sweep's bookkeeping is tested without the dataflow model or a GPU.
 *
 * A fake config is identified by tile_k; fake_tiles[] lists the tile_k of each config the config
 * stage returns. Predicted level l of a config = (tile_k * 1000 + c) * (l + 1); measured =
 * predicted * 1.1 (so every relative error is -1/11).
 */
#ifndef IOB_TESTS_VALIDATE_FAKES_H
#define IOB_TESTS_VALIDATE_FAKES_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iobound/validate.h"

static int fake_tiles[16] = {16, 32, 64};
static int fake_ntiles = 3;
static int fake_predict_sleep_us; /* slows the model down, for the locking test */

static inline iob_status fake_configs(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                      iob_config_select sel, int top_n, iob_config **out,
                                      size_t *count, iob_error *err)
{
    (void)L, (void)m, (void)sel, (void)top_n;
    *out = calloc((size_t)fake_ntiles, sizeof **out);
    if (!*out)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    for (int i = 0; i < fake_ntiles; i++) {
        (*out)[i].algo = algo;
        (*out)[i].tile_k = fake_tiles[i];
        (*out)[i].stages = 1;
        (*out)[i].split_c = 1;
        if (algo == IOB_ALGO_WINOGRAD)
            (*out)[i].wino_m = 2;
    }
    *count = (size_t)fake_ntiles;
    return IOB_OK;
}

static inline double fake_level(const iob_layer *L, const iob_config *cfg, int l)
{
    return (double)(cfg->tile_k * 1000 + L->c) * (l + 1);
}

/* tile_k = 24: infeasible */
static inline iob_status fake_predict(const iob_layer *L, const iob_config *cfg,
                                      const iob_machine *m, double *levels, char *limiter,
                                      iob_error *err)
{
    (void)m;
    if (fake_predict_sleep_us) {
        struct timespec ts = {0, fake_predict_sleep_us * 1000L};
        nanosleep(&ts, NULL);
    }
    if (cfg->tile_k == 24)
        return iob_error_set(err, IOB_EINFEASIBLE, "shared memory 240 KiB > 227 KiB per block");
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        levels[l] = fake_level(L, cfg, l);
    snprintf(limiter, 16, "fp32");
    return IOB_OK;
}

static inline iob_status fake_probe_ok(iob_machine *machine, iob_error *err)
{
    (void)err;
    if (machine)
        iob_machine_get("h100-sxm", machine, NULL);
    return IOB_OK;
}

static inline iob_status fake_probe_nogpu(iob_machine *machine, iob_error *err)
{
    (void)machine;
    return iob_error_set(err, IOB_ENODEV, "no CUDA device: fake driver says none");
}

/* tile_k 8: crashes the worker; 16: wrong output; 32: a sticky GPU error; 48: out of memory;
 * 80: hangs; everything else: measured = predicted * 1.1. cfg NULL: cuDNN, 2 * the level. */
static inline iob_status fake_measure(const iob_layer *L, const iob_config *cfg,
                                      const iob_run_opts *o, iob_measurement *out,
                                      iob_error *err)
{
    (void)o;
    int t = cfg ? cfg->tile_k : 0;
    if (t == 8)
        abort();
    if (t == 16)
        return iob_error_set(err, IOB_ECHECK, "output differs from the FP64 reference at "
                             "n=0,k=1,p=2,q=3: relative error 0.5 > 1e-4");
    if (t == 32)
        return iob_error_set(err, IOB_EGPU, "cudaDeviceSynchronize: an illegal memory access "
                             "was encountered");
    if (t == 48)
        return iob_error_set(err, IOB_ENOMEM, "the layer needs 90 GB, the device has 80 GB free");
    if (t == 80)
        sleep(30);
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        iob_config c0 = {0};
        out->level[l] = cfg ? 1.1 * fake_level(L, cfg, l) : 2.0 * fake_level(L, &c0, l);
    }
    out->max_rel_err = 1e-6;
    return IOB_OK;
}

static inline iob_status fake_cudnn(const iob_layer *L, const iob_run_opts *o,
                                    iob_cudnn_best *out, iob_error *err)
{
    (void)L, (void)o, (void)err;
    out->fp32_ms = 2.5;
    out->tf32_ms = 1.25;
    snprintf(out->fp32_algo, sizeof out->fp32_algo, "IMPLICIT_PRECOMP_GEMM");
    snprintf(out->tf32_algo, sizeof out->tf32_algo, "WINOGRAD_NONFUSED");
    return IOB_OK;
}

/* Sweep options over nlayers small 3x3 layers named l0, l1, ... with the fake model; measure
 * off. layers must hold nlayers entries. */
static inline void fake_opts(iob_sweep_opts *o, iob_layer *layers, int nlayers, const char *path,
                             iob_record_format fmt)
{
    iob_sweep_opts_default(o);
    for (int i = 0; i < nlayers; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "name=l%d,n=2,c=%d,h=9,k=8,r=3,pad=1", i, 4 + i);
        if (iob_layer_parse(spec, &layers[i], NULL))
            abort();
    }
    o->layers = layers;
    o->nlayers = (size_t)nlayers;
    memset(o->algos, 0, sizeof o->algos);
    o->algos[IOB_ALGO_DIRECT] = 1;
    iob_machine_get("h100-sxm", &o->machine, NULL);
    o->path = path;
    o->format = fmt;
    o->measure = 0;
    o->hooks.configs = fake_configs;
    o->hooks.predict = fake_predict;
    o->hooks.gpu_probe = fake_probe_ok;
    o->hooks.measure = fake_measure;
    o->hooks.cudnn = fake_cudnn;
}

/* The whole file as a NUL-terminated string (NULL if it cannot be read); *len its size. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

/* A fresh folder under $TMPDIR (or /tmp); path receives its name. */
static inline void make_tmpdir(char *path, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(path, size, "%s/iob_validate_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        abort();
}

/* Removes the files of a folder made by make_tmpdir (one level) and the folder. */
static inline void remove_tmpdir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
