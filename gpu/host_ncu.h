/* host_ncu.h - the Nsight Compute fallback of the counters: the ncu command line and running it
 * (internal to gpu/; the CSV parser is public in iobound/gpu.h). Pure POSIX C, tested without a
 * GPU. */
#ifndef IOB_GPU_HOST_NCU_H
#define IOB_GPU_HOST_NCU_H

#include "iobound/gpu.h"

/* Builds the argument vector
 *   NCU --metrics M1,...,M8 [-k regex:KERNEL_REGEX] --cache-control all --clock-control none
 *       --csv --page raw --log-file LOG_FILE CHILD_ARGV...
 * (M = iob_counter_metric_name(i); -k only when kernel_regex is not NULL). *argv_out is one
 * malloc'ed block (free it with free()) holding the NULL-terminated vector and its strings.
 * IOB_ENOMEM when it cannot be allocated. */
iob_status iob_ncu_argv(const char *ncu, const char *kernel_regex, const char *log_file,
                        const char *const *child_argv, char ***argv_out, iob_error *err);

/* Runs argv (argv[0] looked up on the PATH) with standard output and error appended to
 * output_file, waits for it, and parses log_file (iob_ncu_parse_file). IOB_EGPU when the program
 * cannot be started or exits non-zero (the message carries its exit status and the last line of
 * output_file). */
iob_status iob_ncu_run(char *const *argv, const char *output_file, const char *log_file,
                       iob_counters *out, int max, int *count, iob_error *err);

#endif
