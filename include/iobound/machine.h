/* machine.h - the GPU a bound or a dataflow is computed for: presets, overrides, the present
 * device.
 *
 * The fast memory of one processor, S, is the shared memory plus the register file of one SM:
 * the storage a dataflow may use to hold operands between loads (DESIGN.md, "The model's
 * vocabulary"). iob_machine_fast_bytes() gives it; --fast-mem overrides it outright.
 */
#ifndef IOBOUND_MACHINE_H
#define IOBOUND_MACHINE_H

#include <stdint.h>

#include "iobound/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iob_machine {
    char name[64];
    char description[160];
    int sm_count;
    int64_t smem_per_sm;       /* bytes of shared memory one SM can give its blocks */
    int64_t smem_per_block;    /* bytes one block may allocate (opt-in maximum) */
    int64_t regs_per_sm;       /* 32-bit registers */
    int regs_per_thread_max;
    int regs_alloc_unit;       /* registers are allocated per warp in units of this many */
    int threads_per_sm_max;
    int threads_per_block_max;
    int blocks_per_sm_max;
    int64_t l1_smem_bytes;     /* the unified L1 + shared-memory array of one SM */
    int64_t l2_bytes;          /* total, every partition together */
    int l2_partitions;         /* partitions that each cache their own copy of a line (>= 1) */
    int l2_line_bytes;         /* 128 */
    int sector_bytes;          /* 32 */
    double dram_bw_peak;       /* bytes/s, datasheet */
    double dram_bw_measured;   /* bytes/s measured on such a machine (0: unknown) */
    double fp32_peak;          /* FLOP/s with FMA, datasheet */
    double fp32_measured;      /* FLOP/s of a large SGEMM measured there (0: unknown) */
    double l2_bw_peak;         /* bytes/s between SMs and L2 (estimate; 0: unknown) */
    double smem_bw_per_sm;     /* bytes/s per SM between shared memory and registers */
    int cc_major, cc_minor;    /* compute capability */
    int64_t fast_bytes_override; /* > 0: S set by the user (--fast-mem) */
} iob_machine;

/* Number of presets and the i-th one (NULL past the end). */
int iob_machine_preset_count(void);
const iob_machine *iob_machine_preset(int i);

/* Copies the preset called name into m ("h100-sxm", "h200", "a100-sxm", "v100"). Fails with
 * IOB_EINVAL listing the known names. The name "device" is not a preset: see
 * iob_machine_query_device() in gpu.h. */
iob_status iob_machine_get(const char *name, iob_machine *m, iob_error *err);

/* S of one SM in bytes: fast_bytes_override if set, else shared memory + register file. */
int64_t iob_machine_fast_bytes(const iob_machine *m);

/* The L2 capacity for data the SMs of every partition read (each partition holds its own
 * copy): l2_bytes / max(1, l2_partitions). The DRAM models call a working set fitting the L2
 * against this, not l2_bytes (docs/counters.md, "DRAM: the L2's two partitions"). Never fails. */
int64_t iob_machine_l2_shared_bytes(const iob_machine *m);

/* The DRAM bandwidth and FP32 rate to use for rooflines: the measured ceiling where known,
 * else the datasheet figure. */
double iob_machine_dram_bw(const iob_machine *m);
double iob_machine_fp32_rate(const iob_machine *m);

/* Applies a byte-size override given on the command line ("49152", "48K", "227KiB", "50M").
 * Fails with IOB_EINVAL on a malformed or non-positive size. */
iob_status iob_parse_bytes(const char *text, int64_t *bytes, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
