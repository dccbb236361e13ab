/* gpu_cli.h - what the GPU commands (run, measure, compare, kernels) share: the --algo/--config
 * words, the target of one layer, the roofline floor, the device header. */
#ifndef IOB_CLI_GPU_CLI_H
#define IOB_CLI_GPU_CLI_H

#include <stdio.h>

#include "cli/common.h"
#include "iobound/gpu.h"

/* What --algo named: a model algorithm (needs --config), a reference path, or cuDNN. */
typedef struct iob_cli_algo {
    enum { IOB_CLI_ALGO_MODEL, IOB_CLI_ALGO_REF, IOB_CLI_ALGO_CUDNN } kind;
    iob_algo algo;
    iob_gpu_ref ref;
    int any;          /* no --algo with --config tuned: the database's algorithm */
} iob_cli_algo;

/* Parses --algo: direct, winograd, im2col, im2win, gemm, naive, im2col-cublas, cudnn.
 * Returns 0 or prints the usage error and returns 2. */
int iob_cli_algo_parse(const char *prog, const char *text, iob_cli_algo *a);

/* Checks --config against the algorithm before any GPU work: "best", "tuned" or a config text
 * ("tile_k=64,..." with or without "algo=..."). Returns 0, or prints a usage error and returns 2. */
int iob_cli_config_check(const char *prog, const iob_cli_algo *a, const char *config);

/* The target of one layer: for a model algorithm, config "best" is iob_dataflow_best(..., time)
 * on machine m, "tuned" the tuning database's config of the layer for the present device
 * (iob_tune_db_config on db, NULL: the default path, as `iobound tune --db` takes it; IOB_ENOTSUP
 * with one line when there is none, or when it is of another algorithm than --algo). */
iob_status iob_cli_target(const iob_cli_algo *a, const char *config, const char *db,
                          const iob_layer *L, const iob_machine *m, iob_gpu_target *t,
                          iob_error *err);

/* The fallback of a GPU command's option loop: '?' is a usage error, anything else goes to
 * iob_cli_common_option. Returns 0 or an exit code (the error printed). */
int iob_cli_gpu_option(iob_cli *cli, int opt, const char *arg);

/* After option parsing of run/measure: no stray argument, --algo (optional with --config tuned:
 * a->any is then set) and a layer source given, the
 * config checked, the layers and machine finished (iob_cli_finish), then the present GPU queried
 * into *m. Returns 0, or the exit code after printing the error (2 usage, 1 no GPU). */
int iob_cli_gpu_finish(iob_cli *cli, int argc, char **argv, const char *algo_text,
                       iob_cli_algo *a, const char *config, iob_machine *m);

/* Roofline floor of a layer on m: max(FLOPs / FP32 rate, compulsory bytes / DRAM bandwidth) in
 * seconds, with the machine's measured ceilings where known; 0 when m has no rates. *which gets
 * "fp32" or "dram". */
double iob_cli_floor_s(const iob_layer *L, const iob_machine *m, const char **which);

/* Prints the device, the cuDNN and NVRTC versions and the ceilings used (table output). */
void iob_cli_gpu_header(FILE *out, const iob_machine *m);

/* The bytes of an SM<->L2 or DRAM measurement that is NAN-safe ("-" when NAN). */
const char *iob_cli_bytes_or_dash(double bytes, char *buf, size_t size);

#endif
