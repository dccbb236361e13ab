/* cmd_plot.c - `iobound plot FILE -o DIR`: the figures of a validation file (PNG and SVG through
 * gnuplot): predicted vs measured per level, per-layer traffic against the bound and cuDNN, the
 * roofline, and the speedup over cuDNN. docs/validate.md, "Plots". */
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/plot.h"

static const char help[] =
    "usage: iobound plot FILE -o DIR [--machine NAME]\n"
    "\n"
    "Draws the figures of a validation file (from `iobound validate`, CSV or JSON Lines) into\n"
    "DIR, each as NAME.png and NAME.svg, next to its data (NAME.dat), its gnuplot script and\n"
    "the variables it reads (NAME.gp, NAME.params.gp):\n"
    "  pred_vs_meas  predicted and simulated against measured, one panel per memory level\n"
    "  layers        per layer: lower bound, our best config predicted and measured, cuDNN\n"
    "  roofline      the machine's roofline with each kernel's point and the intensity the\n"
    "                lower bound allows\n"
    "  speedup       our best config over cuDNN's best FP32 (and TF32) algorithm per layer\n"
    "Figures that need measurements are skipped, with a message, for a file without them.\n"
    "\n"
    "  -o, --output DIR   folder for the figures (created if missing)\n"
    "  --machine NAME     the roofline's ceilings (default: the file's machine, if a preset)\n"
    "\n"
    "Needs gnuplot (PNG through pngcairo when present, else png); IOB_GNUPLOT names another\n"
    "program. Exit status: 0 done, 1 gnuplot missing or failing, 2 bad usage or file.\n";

int iob_cmd_plot(int argc, char **argv)
{
    const char *prog = "iobound plot";
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"machine", required_argument, 0, 'm'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    iob_plot_opts po = {0};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(help, stdout);
            return 0;
        }
        if (opt == 'o')
            po.out_dir = optarg;
        else if (opt == 'm')
            po.machine = optarg;
        else
            return iob_cli_usage_error(prog, "unknown or incomplete option");
    }
    if (optind + 1 != argc)
        return iob_cli_usage_error(prog, optind >= argc ? "no record file given"
                                                        : "give exactly one record file");
    if (!po.out_dir)
        return iob_cli_usage_error(prog, "no output folder (-o DIR)");
    const char *path = argv[optind];
    iob_record_list list = {0};
    iob_error err = {0};
    if (iob_records_read(path, &list, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return iob_status_exit_code(err.code);
    }
    if (list.torn_bytes)
        fprintf(stderr, "%s: warning: %s: the last line is incomplete (%lld bytes), ignored\n",
                prog, path, (long long)list.torn_bytes);
    iob_plot_report rep;
    iob_status st = iob_plot_make(list.items, list.count, &po, &rep, &err);
    iob_record_list_free(&list);
    for (int i = 0; i < rep.count; i++) {
        const iob_plot_outcome *o = &rep.plot[i];
        if (o->made)
            printf("%-13s %s  %s%s%s%s\n", o->name, o->png, o->svg, o->note[0] ? "  (" : "",
                   o->note, o->note[0] ? ")" : "");
        else if (o->note[0])
            fprintf(stderr, "%s: %s: %s\n", prog, o->name, o->note);
    }
    if (st) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return iob_status_exit_code(st);
    }
    return 0;
}
