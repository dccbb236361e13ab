/* cmd_info.c - `iobound nets` and `iobound machines`: what is built in. */
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "iobound/nets.h"

static int parse_simple(iob_cli *cli, int argc, char **argv, const char *help)
{
    static const struct option longopts[] = {{"format", required_argument, 0, IOB_OPT_FORMAT},
                                             {"output", required_argument, 0, IOB_OPT_OUTPUT},
                                             {"help", no_argument, 0, IOB_OPT_HELP},
                                             {0, 0, 0, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == IOB_OPT_HELP) {
            fputs(help, stdout);
            return -1;
        }
        if (opt == '?')
            return iob_cli_usage_error(cli->prog, "unknown or incomplete option");
        int rc = iob_cli_common_option(cli, opt, optarg);
        if (rc)
            return rc < 0 ? iob_cli_usage_error(cli->prog, "unexpected option") : rc;
    }
    if (optind < argc)
        return iob_cli_usage_error(cli->prog, "unexpected argument '%s'", argv[optind]);
    if (cli->out_path && strcmp(cli->out_path, "-")) {
        cli->out = fopen(cli->out_path, "w");
        if (!cli->out) {
            cli->out = stdout;
            perror(cli->out_path);
            return IOB_EXIT_RUNTIME;
        }
    }
    return 0;
}

int iob_cmd_nets(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound nets");
    int rc = parse_simple(&cli, argc, argv,
                          "usage: iobound nets [--format table|csv|json] [-o FILE]\n"
                          "Lists the built-in networks: name, convolution layers, their\n"
                          "multiply-adds at batch 1 (GMACs), the published multiply-adds of the\n"
                          "whole network (convolutions + fully-connected layers, torchvision model\n"
                          "cards), and where the shapes come from.\n");
    if (rc) {
        iob_cli_free(&cli);
        return rc < 0 ? 0 : rc;
    }
    iob_table t;
    iob_table_init(&t, 5);
    t.right[1] = t.right[2] = t.right[3] = 1;
    iob_table_rowf(&t, "name\tlayers\tGMACs\tpublished\tdescription");
    cJSON *root = cJSON_CreateArray();
    for (int i = 0; i < iob_net_count(); i++) {
        const iob_net_info *ni = iob_net_info_at(i);
        iob_layer_list list = {0};
        iob_error err;
        if (iob_net_layers(ni->name, 1, &list, &err)) {
            rc = iob_cli_fail(&cli, &err);
            break;
        }
        double macs = 0;
        for (size_t j = 0; j < list.count; j++) {
            iob_layer_counts c;
            iob_layer_counts_get(&list.items[j], &c, NULL);
            macs += (double)c.macs;
        }
        char pub[32] = "-";
        if (ni->published_conv_gmacs > 0)
            snprintf(pub, sizeof pub, "%.3f", ni->published_conv_gmacs);
        iob_table_rowf(&t, "%s\t%zu\t%.3f\t%s\t%s", ni->name, list.count, macs / 1e9, pub,
                       ni->description);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ni->name);
        cJSON_AddNumberToObject(o, "layers", (double)list.count);
        cJSON_AddNumberToObject(o, "macs", macs);
        if (ni->published_conv_gmacs > 0)
            cJSON_AddNumberToObject(o, "published_gmacs", ni->published_conv_gmacs);
        else
            cJSON_AddNullToObject(o, "published_gmacs");
        cJSON_AddStringToObject(o, "description", ni->description);
        cJSON_AddItemToArray(root, o);
        iob_layer_list_free(&list);
    }
    if (!rc) {
        if (cli.format == IOB_FMT_JSON)
            rc = iob_cli_write_json(&cli, root);
        else
            iob_table_print(&t, cli.out, cli.format);
    }
    cJSON_Delete(root);
    iob_table_free(&t);
    iob_cli_free(&cli);
    return rc;
}

int iob_cmd_machines(int argc, char **argv)
{
    iob_cli cli;
    iob_cli_init(&cli, "iobound machines");
    int rc = parse_simple(&cli, argc, argv,
                          "usage: iobound machines [--format table|csv|json] [-o FILE]\n"
                          "Lists the machine presets (sources of every value: model/machine.c).\n"
                          "S, the fast memory of one SM used by the bounds, is shared memory +\n"
                          "registers. `--machine device` reads the present GPU instead.\n"
                          "L2 shared: the L2 capacity for data the SMs of every L2 partition\n"
                          "read (each partition holds its own copy); the DRAM models' fit test.\n");
    if (rc) {
        iob_cli_free(&cli);
        return rc < 0 ? 0 : rc;
    }
    iob_table t;
    iob_table_init(&t, 11);
    for (int c = 1; c < 10; c++)
        t.right[c] = 1;
    iob_table_rowf(&t, "name\tSMs\tsmem/SM\tsmem/block\tregs/SM\tS/SM\tL2\tL2 shared\tDRAM TB/s\t"
                   "FP32 TFLOP/s\tdescription");
    cJSON *root = cJSON_CreateArray();
    for (int i = 0; i < iob_machine_preset_count(); i++) {
        const iob_machine *m = iob_machine_preset(i);
        iob_table_rowf(&t, "%s\t%d\t%lld KiB\t%lld KiB\t%lld\t%lld KiB\t%lld MiB\t%lld MiB\t%.2f\t"
                       "%.1f\t%s",
                       m->name, m->sm_count, (long long)(m->smem_per_sm / 1024),
                       (long long)(m->smem_per_block / 1024), (long long)m->regs_per_sm,
                       (long long)(iob_machine_fast_bytes(m) / 1024),
                       (long long)(m->l2_bytes >> 20),
                       (long long)(iob_machine_l2_shared_bytes(m) >> 20),
                       iob_machine_dram_bw(m) / 1e12,
                       iob_machine_fp32_rate(m) / 1e12, m->description);
        cJSON_AddItemToArray(root, iob_cli_machine_json(m));
    }
    if (cli.format == IOB_FMT_JSON)
        rc = iob_cli_write_json(&cli, root);
    else
        iob_table_print(&t, cli.out, cli.format);
    cJSON_Delete(root);
    iob_table_free(&t);
    iob_cli_free(&cli);
    return rc;
}
