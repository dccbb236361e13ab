/* common.h - what every iobound sub-command shares: the layer sources (--layer, --layers, --net,
 * --batch), the machine (--machine, --smem, --l2, --fast-mem), the output (--format, -o), error
 * reporting and exit codes. Only the CLI prints; the library returns statuses.
 */
#ifndef IOB_CLI_COMMON_H
#define IOB_CLI_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "iobound/bound.h"
#include "iobound/layer.h"
#include "iobound/machine.h"

/* Exit codes (README, docs/cli.md). */
enum { IOB_EXIT_OK = 0, IOB_EXIT_RUNTIME = 1, IOB_EXIT_USAGE = 2 };

typedef enum iob_format { IOB_FMT_TABLE, IOB_FMT_CSV, IOB_FMT_JSON } iob_format;

/* Options common to the commands that take layers and a machine. */
typedef struct iob_cli {
    const char *prog;          /* "iobound bound" */
    iob_layer_list layers;
    int have_layers;
    const char *net;
    long long batch;           /* --batch: 0 = not given */
    iob_machine machine;
    int machine_set;
    const char *machine_name;
    int64_t smem_override, l2_override, fast_override;
    iob_format format;
    const char *out_path;
    FILE *out;                 /* stdout or the -o file */
    int quiet;
    size_t warned; /* file warnings already printed */
} iob_cli;

/* The long options every layer-taking command accepts; a command appends its own. Values of
 * `val` at or above IOB_OPT_COMMON_BASE are handled by iob_cli_common_option(). */
#define IOB_OPT_COMMON_BASE 1000
enum {
    IOB_OPT_LAYER = IOB_OPT_COMMON_BASE,
    IOB_OPT_LAYERS,
    IOB_OPT_NET,
    IOB_OPT_BATCH,
    IOB_OPT_MACHINE,
    IOB_OPT_SMEM,
    IOB_OPT_L2,
    IOB_OPT_FAST,
    IOB_OPT_FORMAT,
    IOB_OPT_OUTPUT,
    IOB_OPT_HELP,
    IOB_OPT_COMMON_END
};
#define IOB_COMMON_LONG_OPTIONS                                                               \
    {"layer", required_argument, 0, IOB_OPT_LAYER},                                           \
        {"layers", required_argument, 0, IOB_OPT_LAYERS},                                     \
        {"net", required_argument, 0, IOB_OPT_NET},                                           \
        {"batch", required_argument, 0, IOB_OPT_BATCH},                                       \
        {"machine", required_argument, 0, IOB_OPT_MACHINE},                                   \
        {"smem", required_argument, 0, IOB_OPT_SMEM},                                         \
        {"l2", required_argument, 0, IOB_OPT_L2},                                             \
        {"fast-mem", required_argument, 0, IOB_OPT_FAST},                                     \
        {"format", required_argument, 0, IOB_OPT_FORMAT},                                     \
        {"output", required_argument, 0, IOB_OPT_OUTPUT},                                     \
        {"help", no_argument, 0, IOB_OPT_HELP}

/* The help text of the common options, for a command's --help. */
extern const char iob_cli_common_help[];
extern const char iob_cli_machine_help[];

void iob_cli_init(iob_cli *cli, const char *prog);
/* Handles one common option (opt = getopt_long's return, 'o' included). Returns 0 if handled,
 * -1 if opt is not a common option, or an exit code (> 0) after printing the error. */
int iob_cli_common_option(iob_cli *cli, int opt, const char *arg);
/* After option parsing: loads --net layers, applies --batch, resolves the machine (default
 * h100-sxm) and overrides, opens -o. If no layer source was given and default_net is not NULL,
 * uses that network. Returns 0 or an exit code. */
int iob_cli_finish(iob_cli *cli, const char *default_net);
void iob_cli_free(iob_cli *cli);

/* Prints "iobound <cmd>: <message>" on stderr and returns the exit code for the status. */
int iob_cli_fail(const iob_cli *cli, const iob_error *err);
/* Prints a usage error ("iobound <cmd>: <message>; see --help") and returns 2. */
int iob_cli_usage_error(const char *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A set of algorithms chosen with --algo. */
typedef struct iob_algo_set {
    int on[IOB_ALGO_COUNT];
} iob_algo_set;
/* Parses "direct,winograd" or "all" into set (cleared first). Returns 0, or prints a usage
 * error naming the bad name and returns 2. */
int iob_cli_parse_algos(const char *prog, const char *arg, iob_algo_set *set);

/* JSON helpers: the machine object of every JSON output; the layer object's shape fields. */
cJSON *iob_cli_machine_json(const iob_machine *m);
cJSON *iob_cli_layer_json(const iob_layer *L);
/* Writes a cJSON tree (pretty) to out followed by a newline; returns 0 or an exit code. */
int iob_cli_write_json(iob_cli *cli, cJSON *root);

/* A simple table: set the header, add rows of strings, print aligned (table) or as CSV. */
typedef struct iob_table {
    int ncols;
    char **cells; /* rows * ncols */
    int rows, cap;
    int *right; /* per column: right-align */
} iob_table;
void iob_table_init(iob_table *t, int ncols);
void iob_table_free(iob_table *t);
void iob_table_row(iob_table *t, const char *const *cells);
/* Adds a row from printf-style cells separated by '\t' in one format string. */
void iob_table_rowf(iob_table *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void iob_table_print(const iob_table *t, FILE *out, iob_format fmt);

/* Human-readable numbers: "1.23 GB", "4.11 G", "512 KiB". */
const char *iob_fmt_bytes(double bytes, char *buf, size_t size);
const char *iob_fmt_count(double n, char *buf, size_t size);

#endif
