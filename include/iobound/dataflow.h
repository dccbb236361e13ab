/* dataflow.h - configs of the dataflows our kernels run, their resource use on a machine, and
 * their predicted traffic per memory level (closed form, exact where the loop nest is exact).
 *
 * One iob_config value travels the whole way (DESIGN.md): the model proposes it, the simulator
 * replays it, the GPU executor compiles it (its fields become the kernel's macros, with the same
 * names) and the tuner ranks it. Its text form is "algo=direct,tile_k=64,tile_p=4,..." and its
 * JSON form an object with the same keys; both parse back unchanged.
 *
 * The dataflow of each algorithm is specified in docs/model.md; the kernel, the closed form and
 * the trace generator all implement that one text.
 */
#ifndef IOBOUND_DATAFLOW_H
#define IOBOUND_DATAFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "iobound/bound.h"
#include "iobound/layer.h"
#include "iobound/machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dataflow config. Fields an algorithm does not use are 0. */
typedef struct iob_config {
    iob_algo algo;
    int wino_m;      /* Winograd: output tile side m (F(m x m, r x r)); 0 otherwise */
    int tile_k;      /* output channels per block */
    int tile_p;      /* output rows per block */
    int tile_q;      /* output columns per block */
    int tile_c;      /* input channels per pipeline stage */
    int micro_k;     /* per-thread register tile: output channels */
    int micro_p;     /*   output rows */
    int micro_q;     /*   output columns */
    int stages;      /* shared-memory buffers in the load pipeline (1 = no overlap) */
    int split_c;     /* the input channels are split over this many blocks (1 = no split) */
    int layout;      /* 0 = NCHW (the only layout so far) */
    int tile_n;      /* direct: images per block (0 or 1: one) */
} iob_config;

/* Field descriptors: the one list of config keys, used by parse, format, JSON and kernel macros.
 * Each key is also the name of the kernel macro (upper-cased: TILE_K, ...). */
typedef struct iob_config_field {
    const char *key;
    size_t offset; /* of an int inside iob_config */
    const char *doc;
} iob_config_field;
int iob_config_field_count(void);
const iob_config_field *iob_config_field_at(int i);

/* Parses "algo=direct,tile_k=64,..." (keys above; unknown keys and malformed values fail with
 * IOB_EINVAL naming the key). Keys not given are 0, except stages = 1 and split_c = 1. */
iob_status iob_config_parse(const char *text, iob_config *cfg, iob_error *err);
/* Parses a config's JSON object form ({"algo": "direct", "tile_k": 64, ...}: the keys above,
 * numbers or numeric strings; unknown keys, non-integers and out-of-range values fail with
 * IOB_EINVAL naming the key). Defaults as for iob_config_parse. Also accepts the object inside
 * {"config": {...}}, as `iobound dataflow --format json` writes it. */
iob_status iob_config_parse_json(const char *json, iob_config *cfg, iob_error *err);

/* Canonical text of a config (every key the algorithm uses); returns what snprintf returns. */
int iob_config_format(const iob_config *cfg, char *buf, size_t size);
int iob_config_equal(const iob_config *a, const iob_config *b);

/* Threads per block of a config (derived: (tile_k/micro_k) * (tile_p/micro_p) *
 * (tile_q/micro_q), times the Winograd frequency groups where that applies). */
int iob_config_threads(const iob_config *cfg);

/* Resource use of a config on a machine. */
typedef struct iob_resources {
    int threads;              /* per block */
    int64_t smem_bytes;       /* dynamic shared memory per block */
    int regs_per_thread;      /* estimate (docs/model.md; checked against ptxas on sm_90) */
    int blocks_per_sm;        /* resident blocks per SM (occupancy) */
    int64_t grid_blocks;      /* blocks of the main kernel */
    int64_t waves;            /* ceil(grid_blocks / (blocks_per_sm * sm_count)) */
    double occupancy;         /* resident warps / max warps */
    int64_t workspace_bytes;  /* device memory beside input, filter, output (split-K partials,
                                 im2col buffer, im2win window tensor, Winograd's U) */
    int kernels;              /* launches per run (split-K reduction, transforms) */
} iob_resources;

/* Predicted data movement of one run of a config (all kernels of the algorithm together). */
typedef struct iob_traffic {
    /* SM <-> L2: 32-byte sectors requested by the SMs (the counters'
     * lts__t_sectors_srcunit_tex_op_read/write) */
    uint64_t l2_read_sectors, l2_write_sectors;
    uint64_t l2_read_bytes, l2_write_bytes; /* sectors * 32 */
    uint64_t l2_read_requested_bytes;       /* bytes the loads asked for (<= l2_read_bytes) */
    /* L2 <-> DRAM */
    double dram_read_bytes, dram_write_bytes;
    int dram_exact;         /* 1: compulsory because the working set fits the L2; 0: estimate */
    /* shared memory <-> registers (sm__sass_data_bytes_mem_shared: loads + stores) */
    uint64_t smem_read_bytes, smem_write_bytes;
    uint64_t ffma;          /* FFMA thread instructions (counter ..._op_ffma_pred_on) */
    double flops;           /* floating-point operations the kernels execute */
    /* time estimate, seconds (docs/model.md): max of the terms below, per wave, plus launch */
    double time_s;
    double time_flop_s, time_l2_s, time_dram_s, time_smem_s;
    const char *time_limiter; /* "fp32", "l2", "dram", "smem", "latency" */
} iob_traffic;

typedef enum iob_objective { IOB_OBJ_TRAFFIC = 0, IOB_OBJ_TIME = 1 } iob_objective;

/* Checks that cfg is a valid config of its algorithm for the layer and fits the machine; fills
 * res. Returns IOB_EINFEASIBLE with the reason ("shared memory 240 KiB > 227 KiB per block",
 * "tile_k=48 is not a multiple of micro_k=32", ...) or IOB_EINVAL for a config of another
 * algorithm's shape. */
iob_status iob_dataflow_check(const iob_layer *layer, const iob_config *cfg,
                              const iob_machine *m, iob_resources *res, iob_error *err);

/* Predicted traffic of a feasible config (checks it first). */
iob_status iob_dataflow_predict(const iob_layer *layer, const iob_config *cfg,
                                const iob_machine *m, iob_traffic *t, iob_error *err);

/* The SM<-L2 read sectors the H100 fetches twice for a config: sectors whose two halves a 16-byte
 * copy puts into two 32-byte units of shared memory (docs/counters.md, "The rule behind the
 * SM-side count"; the counter l1tex__m_xbar2l1tex_read_sectors sees each fetch). The config is
 * checked first. Walks the config's copies: for one config at a time, not for enumerations.
 * direct, im2col and im2win; IOB_ENOTSUP for the others (Winograd's fused kernel is within 1% of
 * its prediction without it). */
iob_status iob_dataflow_split_sectors(const iob_layer *layer, const iob_config *cfg,
                                      const iob_machine *m, uint64_t *split, iob_error *err);

/* What the SMs fetch: iob_dataflow_predict's l2_read_sectors plus iob_dataflow_split_sectors. */
iob_status iob_dataflow_fetch_sectors(const iob_layer *layer, const iob_config *cfg,
                                      const iob_machine *m, uint64_t *sectors, iob_error *err);

/* Every feasible config of algo for the layer on the machine, in a fixed order. *out is
 * allocated (free() it); *count may be 0 when the algorithm does not apply (err says why). */
iob_status iob_dataflow_enumerate(const iob_layer *layer, iob_algo algo, const iob_machine *m,
                                  iob_config **out, size_t *count, iob_error *err);

/* The best config of algo under an objective: the continuous relaxation's optimum (GSL), then the
 * best integer configs around it, checked against full enumeration (docs/model.md). */
iob_status iob_dataflow_best(const iob_layer *layer, iob_algo algo, const iob_machine *m,
                             iob_objective obj, iob_config *best, iob_traffic *t,
                             iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
