/* plot.h - figures of a validation file, drawn by gnuplot (the .gp scripts of plots/, embedded in the library),
 * each as PNG and SVG (docs/validate.md, "Plots"):
 *   pred_vs_meas   predicted (and simulated) against measured, one panel per level, log axes,
 *                  y = x and a 10% band;
 *   layers         per layer: the lower bound, the prediction and measurement of our best config,
 *                  and the measurement of cuDNN's best FP32 algorithm (SM<->L2 bytes);
 *   roofline       the machine's roofline from its measured ceilings, each kernel's point, and
 *                  the intensity the lower bound allows;
 *   speedup        our best config's speedup over cuDNN's best FP32 (and TF32) algorithm.
 */
#ifndef IOBOUND_PLOT_H
#define IOBOUND_PLOT_H

#include <stddef.h>

#include "iobound/validate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_PLOT_COUNT 4
#define IOB_PLOT_PATH_MAX 1024

typedef struct iob_plot_opts {
    const char *out_dir;  /* created if missing (its parent must exist) */
    const char *machine;  /* preset for the roofline; NULL: the records' machine, if it is a
                             preset, else h100-sxm */
    const char *gnuplot;  /* the program; NULL: $IOB_GNUPLOT, else "gnuplot" from PATH */
} iob_plot_opts;

typedef struct iob_plot_outcome {
    char name[32];                  /* "pred_vs_meas", "layers", "roofline", "speedup" */
    int made;                       /* 1: png and svg written, non-empty */
    char png[IOB_PLOT_PATH_MAX];
    char svg[IOB_PLOT_PATH_MAX];
    char note[256];                 /* why it was skipped or failed, or a remark */
} iob_plot_outcome;

typedef struct iob_plot_report {
    int count;
    iob_plot_outcome plot[IOB_PLOT_COUNT];
    char png_terminal[16];          /* "pngcairo" or "png" */
    char machine[64];               /* the roofline's machine */
} iob_plot_report;

/* Writes the data files, the scripts and the figures of records r[0..n) into opts->out_dir. A
 * figure whose data the records lack (no measurements: pred_vs_meas, roofline, speedup) is
 * skipped with a note, the others are made. Fails with IOB_ENOTSUP when gnuplot cannot be found
 * (the message says how to install it), IOB_EIO when the folder or a file cannot be written or
 * gnuplot fails (the message names the figure and gnuplot's first error line; its full output
 * is in <out_dir>/<name>.log), IOB_EINVAL for a folder name with a quote or a newline (gnuplot's
 * strings cannot hold them) or an unknown machine. rep is filled in every case. */
iob_status iob_plot_make(const iob_record *r, size_t n, const iob_plot_opts *opts,
                         iob_plot_report *rep, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
