/* iobound.c - the command-line tool: sub-command dispatch. No command means `bound`; no
 * arguments at all run the built-in default (resnet50, batch 1, on h100-sxm). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"

static const iob_command commands[] = {
    {"bound", iob_cmd_bound, "I/O lower bounds of every algorithm for layers (the default)"},
    {"nets", iob_cmd_nets, "list the built-in networks"},
    {"machines", iob_cmd_machines, "list the machine presets"},
    {"run", iob_cmd_run, "checked, timed runs on the GPU, beside cuDNN and the roofline floor"},
    {"measure", iob_cmd_measure, "hardware counters of a run against the bound and the model"},
    {"compare", iob_cmd_compare, "an Nsight Compute CSV of any kernel against the bound"},
    {"kernels", iob_cmd_kernels, "the embedded CUDA kernels; --check compiles them (NVRTC)"},
    {"tune", iob_cmd_tune, "bound-guided auto-tuning on the GPU; the tuning database"},
    {"validate", iob_cmd_validate, "bound, model, simulation and GPU counters side by side"},
    {"plot", iob_cmd_plot, "figures of a validation file (PNG and SVG, gnuplot)"},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "usage: iobound [COMMAND] [OPTIONS]\n"
            "\n"
            "How much data a convolution MUST move (red-blue pebble lower bounds), how much a\n"
            "dataflow WILL move (closed-form model, cache simulation) and how much the GPU DID\n"
            "move (CUDA kernels with hardware counters).\n"
            "\n"
            "Commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "With no command, `bound` runs; with no arguments at all, the default job:\n"
            "  iobound  ==  iobound bound --net resnet50 --batch 1 --machine h100-sxm\n"
            "`iobound COMMAND --help` explains a command. `iobound --version` prints the version.\n"
            "Exit status: 0 done, 1 runtime error, 2 bad usage or bad input.\n"
            "Docs: docs/cli.md (options, spec grammar, output formats), docs/bounds.md.\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("iobound %s\n", IOB_VERSION);
        return 0;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        for (int i = 0; i < NCOMMANDS; i++)
            if (!strcmp(argv[1], commands[i].name))
                return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "iobound: unknown command '%s' (iobound --help lists them)\n", argv[1]);
        return IOB_EXIT_USAGE;
    }
    /* no command: bound, with the remaining arguments */
    char *bound_argv[256];
    if (argc > 255) {
        fprintf(stderr, "iobound: too many arguments\n");
        return IOB_EXIT_USAGE;
    }
    bound_argv[0] = "bound";
    for (int i = 1; i < argc; i++)
        bound_argv[i] = argv[i];
    bound_argv[argc] = NULL;
    return iob_cmd_bound(argc, bound_argv);
}
