/* machine.c - machine presets (a table of numbers, each with its source) and byte-size parsing.
 *
 * Sources, cited per value below:
 *  [CG]   CUDA C++ Programming Guide, "Features and Technical Specifications", table of
 *         technical specifications per compute capability (7.0, 8.0, 9.0).
 *  [H100] NVIDIA H100 Tensor Core GPU Architecture whitepaper (SXM5: 132 SMs, 50 MB L2,
 *         3.35 TB/s HBM3, 66.9 TFLOP/s FP32) and H100 datasheet.
 *  [H200] NVIDIA H200 datasheet (4.8 TB/s HBM3e, 66.9 TFLOP/s FP32, same GH100 SMs).
 *  [A100] NVIDIA A100 Tensor Core GPU Architecture whitepaper (108 SMs, 40 MB L2, 164 KB
 *         shared memory per SM, 19.5 TFLOP/s FP32) and A100 80GB datasheet (2.039 TB/s).
 *  [V100] NVIDIA Tesla V100 GPU Architecture whitepaper (80 SMs, 6 MB L2, 96 KB shared memory
 *         per SM, 900 GB/s HBM2, 15.7 TFLOP/s FP32).
 *  [NOTES] ../shared/device/NOTES.md, measured on the H100 test machine (2026-11-23):
 *         device-to-device copy 2.87 TB/s, SGEMM 8192^3 with TF32 off 51 TFLOP/s.
 *  [KINDS] /work/.library/device/KINDS.md: an H200 of this workplace reported 60 MB of L2 and
 *         copied at about 4.3 TB/s.
 * L2 partitions: [A100] "The L2 cache is divided into two partitions ... Each L2 partition
 * localizes and caches data for memory accesses from SMs in the GPCs directly connected to the
 * partition", so a line the SMs of both sides read is held twice; GH100 (H100, H200) keeps the
 * split [H100], and the H100's DRAM reads leave the compulsory count once a working set that
 * every SM reads passes about half the 50 MiB (docs/counters.md, "DRAM: the L2's two
 * partitions", device call 12). [V100] describes one L2 shared by all SMs.
 * Shared-memory bandwidth: 32 banks x 4 bytes per clock per SM [CG, "Shared Memory"] at the
 * boost clock of each part (H100/H200 1.98 GHz, A100 1.41 GHz, V100 1.53 GHz).
 */
#include "iobound/machine.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024LL
#define MiB (1024LL * 1024LL)

static const iob_machine presets[] = {
    {
        .name = "h100-sxm",
        .description = "NVIDIA H100 SXM5 80GB (sm_90), the test machine",
        .sm_count = 132,                 /* [H100] */
        .smem_per_sm = 228 * KiB,        /* [CG] cc 9.0 */
        .smem_per_block = 227 * KiB,     /* [CG] cc 9.0, opt-in */
        .regs_per_sm = 65536,            /* [CG] */
        .regs_per_thread_max = 255,      /* [CG] */
        .regs_alloc_unit = 256,          /* [CG] occupancy calculator: per-warp granularity */
        .threads_per_sm_max = 2048,      /* [CG] */
        .threads_per_block_max = 1024,   /* [CG] */
        .blocks_per_sm_max = 32,         /* [CG] */
        .l1_smem_bytes = 256 * KiB,      /* [H100] combined L1/shared memory per SM */
        .l2_bytes = 50 * MiB,            /* [H100]; cudaDeviceProp.l2CacheSize = 52428800 */
        .l2_partitions = 2,              /* [H100], measured (docs/counters.md) */
        .l2_line_bytes = 128,
        .sector_bytes = 32,
        .dram_bw_peak = 3.35e12,         /* [H100] */
        .dram_bw_measured = 2.87e12,     /* [NOTES] */
        .fp32_peak = 66.9e12,            /* [H100] */
        .fp32_measured = 51.0e12,        /* [NOTES] */
        .l2_bw_peak = 0,                 /* not published; unmeasured */
        .smem_bw_per_sm = 128 * 1.98e9,  /* 128 B/clock at 1.98 GHz */
        .cc_major = 9,
        .cc_minor = 0,
    },
    {
        .name = "h200",
        .description = "NVIDIA H200 SXM 141GB (sm_90)",
        .sm_count = 132,                 /* [H200], [KINDS] */
        .smem_per_sm = 228 * KiB,        /* [CG] cc 9.0 */
        .smem_per_block = 227 * KiB,     /* [CG] */
        .regs_per_sm = 65536,
        .regs_per_thread_max = 255,
        .regs_alloc_unit = 256,
        .threads_per_sm_max = 2048,
        .threads_per_block_max = 1024,
        .blocks_per_sm_max = 32,
        .l1_smem_bytes = 256 * KiB,
        .l2_bytes = 60 * MiB,            /* [KINDS]: PyTorch reported 60 MB */
        .l2_partitions = 2,              /* GH100 as H100 */
        .l2_line_bytes = 128,
        .sector_bytes = 32,
        .dram_bw_peak = 4.8e12,          /* [H200] */
        .dram_bw_measured = 4.3e12,      /* [KINDS] */
        .fp32_peak = 66.9e12,            /* [H200] */
        .fp32_measured = 0,
        .l2_bw_peak = 0,
        .smem_bw_per_sm = 128 * 1.98e9,
        .cc_major = 9,
        .cc_minor = 0,
    },
    {
        .name = "a100-sxm",
        .description = "NVIDIA A100 SXM4 80GB (sm_80)",
        .sm_count = 108,                 /* [A100] */
        .smem_per_sm = 164 * KiB,        /* [CG] cc 8.0 */
        .smem_per_block = 163 * KiB,     /* [CG] cc 8.0, opt-in */
        .regs_per_sm = 65536,
        .regs_per_thread_max = 255,
        .regs_alloc_unit = 256,
        .threads_per_sm_max = 2048,
        .threads_per_block_max = 1024,
        .blocks_per_sm_max = 32,
        .l1_smem_bytes = 192 * KiB,      /* [A100] */
        .l2_bytes = 40 * MiB,            /* [A100] */
        .l2_partitions = 2,              /* [A100] */
        .l2_line_bytes = 128,
        .sector_bytes = 32,
        .dram_bw_peak = 2.039e12,        /* [A100] 80GB datasheet */
        .dram_bw_measured = 0,
        .fp32_peak = 19.5e12,            /* [A100] */
        .fp32_measured = 0,
        .l2_bw_peak = 0,
        .smem_bw_per_sm = 128 * 1.41e9,
        .cc_major = 8,
        .cc_minor = 0,
    },
    {
        .name = "v100",
        .description = "NVIDIA Tesla V100 SXM2 (sm_70), the seed paper's generation",
        .sm_count = 80,                  /* [V100] */
        .smem_per_sm = 96 * KiB,         /* [CG] cc 7.0 */
        .smem_per_block = 96 * KiB,      /* [CG] cc 7.0, opt-in */
        .regs_per_sm = 65536,
        .regs_per_thread_max = 255,
        .regs_alloc_unit = 256,
        .threads_per_sm_max = 2048,
        .threads_per_block_max = 1024,
        .blocks_per_sm_max = 32,
        .l1_smem_bytes = 128 * KiB,      /* [V100] */
        .l2_bytes = 6 * MiB,             /* [V100] */
        .l2_partitions = 1,              /* [V100] */
        .l2_line_bytes = 128,
        .sector_bytes = 32,
        .dram_bw_peak = 900e9,           /* [V100] */
        .dram_bw_measured = 0,
        .fp32_peak = 15.7e12,            /* [V100] */
        .fp32_measured = 0,
        .l2_bw_peak = 0,
        .smem_bw_per_sm = 128 * 1.53e9,
        .cc_major = 7,
        .cc_minor = 0,
    },
};

int iob_machine_preset_count(void) { return (int)(sizeof presets / sizeof presets[0]); }

const iob_machine *iob_machine_preset(int i)
{
    return i >= 0 && i < iob_machine_preset_count() ? &presets[i] : NULL;
}

iob_status iob_machine_get(const char *name, iob_machine *m, iob_error *err)
{
    for (int i = 0; i < iob_machine_preset_count(); i++)
        if (!strcmp(presets[i].name, name)) {
            *m = presets[i];
            return IOB_OK;
        }
    char known[256] = "";
    for (int i = 0; i < iob_machine_preset_count(); i++) {
        strcat(known, i ? ", " : "");
        strcat(known, presets[i].name);
    }
    return iob_error_set(err, IOB_EINVAL, "unknown machine '%s' (known: %s, device)", name,
                         known);
}

int64_t iob_machine_fast_bytes(const iob_machine *m)
{
    if (m->fast_bytes_override > 0)
        return m->fast_bytes_override;
    return m->smem_per_sm + 4 * m->regs_per_sm;
}

int64_t iob_machine_l2_shared_bytes(const iob_machine *m)
{
    return m->l2_bytes / (m->l2_partitions > 1 ? m->l2_partitions : 1);
}

double iob_machine_dram_bw(const iob_machine *m)
{
    return m->dram_bw_measured > 0 ? m->dram_bw_measured : m->dram_bw_peak;
}

double iob_machine_fp32_rate(const iob_machine *m)
{
    return m->fp32_measured > 0 ? m->fp32_measured : m->fp32_peak;
}

iob_status iob_parse_bytes(const char *text, int64_t *bytes, iob_error *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        return iob_error_set(err, IOB_EINVAL, "'%s': not a byte count (e.g. 49152, 48K, 50MiB)",
                             text);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno == ERANGE)
        return iob_error_set(err, IOB_ERANGE, "'%s': too large", text);
    long long mult = 1;
    char unit[8] = "";
    size_t ul = 0;
    while (*end && !isspace((unsigned char)*end) && ul < sizeof unit - 1)
        unit[ul++] = (char)tolower((unsigned char)*end++);
    unit[ul] = '\0';
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return iob_error_set(err, IOB_EINVAL, "'%s': not a byte count (e.g. 49152, 48K, 50MiB)",
                             text);
    if (!strcmp(unit, "") || !strcmp(unit, "b"))
        mult = 1;
    else if (!strcmp(unit, "k") || !strcmp(unit, "kb") || !strcmp(unit, "kib"))
        mult = KiB;
    else if (!strcmp(unit, "m") || !strcmp(unit, "mb") || !strcmp(unit, "mib"))
        mult = MiB;
    else if (!strcmp(unit, "g") || !strcmp(unit, "gb") || !strcmp(unit, "gib"))
        mult = 1024 * MiB;
    else
        return iob_error_set(err, IOB_EINVAL, "'%s': unknown unit '%s' (use K, M or G: powers of "
                             "1024)", text, unit);
    if (v == 0)
        return iob_error_set(err, IOB_EINVAL, "'%s': must be positive", text);
    if (v > (unsigned long long)(INT64_MAX / mult))
        return iob_error_set(err, IOB_ERANGE, "'%s': too large", text);
    *bytes = (int64_t)v * mult;
    return IOB_OK;
}
