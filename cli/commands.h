/* commands.h - the sub-commands of iobound; each lives in cli/cmd_<name>.c. */
#ifndef IOB_CLI_COMMANDS_H
#define IOB_CLI_COMMANDS_H

typedef int (*iob_command_fn)(int argc, char **argv);

typedef struct iob_command {
    const char *name;
    iob_command_fn run;
    const char *summary;
} iob_command;

int iob_cmd_bound(int argc, char **argv);
int iob_cmd_nets(int argc, char **argv);
int iob_cmd_machines(int argc, char **argv);
int iob_cmd_run(int argc, char **argv);
int iob_cmd_measure(int argc, char **argv);
int iob_cmd_compare(int argc, char **argv);
int iob_cmd_kernels(int argc, char **argv);
int iob_cmd_tune(int argc, char **argv);
int iob_cmd_validate(int argc, char **argv);
int iob_cmd_plot(int argc, char **argv);

#endif
