/* scripts.h - the gnuplot scripts of plots/ embedded in the library at build time
 * (cmake/embed_kernels.cmake writes the table from the .gp files of plots/), so that an installed iobound
 * plots without a source tree. */
#ifndef IOB_PLOTS_SCRIPTS_H
#define IOB_PLOTS_SCRIPTS_H

#include <stddef.h>

typedef struct iob_plot_script {
    const char *name;   /* "roofline.gp" */
    const char *source; /* NUL-terminated text */
    size_t size;        /* bytes, NUL excluded */
} iob_plot_script;

extern const iob_plot_script iob_plot_scripts[];
extern const int iob_plot_script_count;

#endif
