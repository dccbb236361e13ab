/* cmd_kernels.c - `iobound kernels`: the embedded kernel sources, and `--check`: every kernel
 * compiled through NVRTC for a spread of configs of every algorithm that has a plan builder, for
 * a few representative layers (NVRTC needs no GPU, so this runs in CI and at build time). */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_cli.h"

static const char help[] =
    "usage: iobound kernels [--check [--arch sm_XY] [--quiet] [--verbose] [--per-layer N]]\n"
    "\n"
    "Lists the CUDA kernel sources embedded in this build. With --check, compiles every kernel\n"
    "through NVRTC (cached on disk) for: the naive kernel, the im2col gather, the L2 flush, and\n"
    "for each algorithm with a plan builder a spread of the feasible configs\n"
    "(iob_dataflow_enumerate) of representative layers (odd, strided, dilated, grouped, 1x1,\n"
    "7x7). Needs no GPU. Exit 1 if any compilation fails.\n"
    "\n"
    "  --check          compile (otherwise only list)\n"
    "  --arch sm_XY     target architecture (default: the present GPU's, else sm_90)\n"
    "  --per-layer N    configs taken per layer and algorithm, evenly spread (default 6)\n"
    "  -q, --quiet      print failures and the summary only\n"
    "  -v, --verbose    print NVRTC's whole log for each failure\n";

enum { OPT_CHECK = 1000, OPT_ARCH, OPT_PER_LAYER, OPT_QUIET, OPT_VERBOSE, OPT_HELP };

/* Representative layers: first layers, odd sizes, strides, dilation, groups, 1x1, batch > 1. */
static const char *const layers[] = {
    "name=conv1_7x7s2,n=1,c=3,h=224,k=64,r=7,stride=2,pad=3",
    "name=3x3,n=1,c=64,h=56,k=64,r=3,pad=1",
    "name=1x1,n=2,c=256,h=14,k=128,r=1",
    "name=3x3s2,n=1,c=128,h=28,k=256,r=3,stride=2,pad=1",
    "name=odd_5x5_dil2,n=3,c=5,h=17,w=13,k=7,r=5,dil=2,pad=2",
    "name=grouped,n=1,c=32,h=15,k=64,r=3,pad=1,groups=4",
    "name=asym,n=1,c=16,h=9,k=8,r=3,pad_top=0,pad_bottom=2,pad_left=1,pad_right=0",
};
#define NLAYERS (int)(sizeof layers / sizeof layers[0])

typedef struct item {
    iob_launch l;
    char what[160];
} item;

typedef struct items {
    item *v;
    int n, cap;
} items;

static int add(items *it, const iob_launch *l, const char *what)
{
    for (int i = 0; i < it->n; i++)
        if (!strcmp(it->v[i].l.file, l->file) && !strcmp(it->v[i].l.entry, l->entry) &&
            !strcmp(it->v[i].l.defines, l->defines))
            return 0;
    if (it->n == it->cap) {
        int cap = it->cap ? 2 * it->cap : 64;
        item *nv = realloc(it->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        it->v = nv;
        it->cap = cap;
    }
    it->v[it->n].l = *l;
    snprintf(it->v[it->n].what, sizeof it->v[it->n].what, "%s", what);
    it->n++;
    return 0;
}

static int add_plan(items *it, const iob_plan *p, const char *what)
{
    for (int i = 0; i < p->nprep; i++) /* cuBLAS launches have no source to compile */
        if (iob_launch_is_kernel(&p->prep[i]) && add(it, &p->prep[i], what))
            return -1;
    for (int i = 0; i < p->nlaunch; i++)
        if (iob_launch_is_kernel(&p->launch[i]) && add(it, &p->launch[i], what))
            return -1;
    return 0;
}

static const char *preset_for_arch(int arch)
{
    return arch >= 90 ? "h100-sxm" : arch >= 80 ? "a100-sxm" : "v100";
}

/* Every launch to compile; *algos gets the names of the algorithms with a plan builder. */
static int collect(items *it, int arch, int per_layer, char *algos, size_t asize,
                   const char *prog)
{
    iob_error err;
    iob_launch fl;
    memset(&fl, 0, sizeof fl);
    strcpy(fl.file, "flush.cu");
    strcpy(fl.entry, "iob_l2_flush");
    if (add(it, &fl, "L2 flush"))
        return -1;
    static const char *const checks[] = {"iob_check_scan", "iob_check_gather"};
    for (int i = 0; i < 2; i++) { /* the output checks of large layers (gpu/cuda_exec.c) */
        iob_launch cl;
        memset(&cl, 0, sizeof cl);
        strcpy(cl.file, "check.cu");
        strcpy(cl.entry, checks[i]);
        if (add(it, &cl, "output check"))
            return -1;
    }
    iob_machine m;
    iob_machine_get(preset_for_arch(arch), &m, NULL);
    algos[0] = '\0';
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        if (iob_plan_has_builder((iob_algo)a)) {
            size_t u = strlen(algos);
            snprintf(algos + u, asize - u, "%s%s", u ? ", " : "", iob_algo_name((iob_algo)a));
        }
    for (int li = 0; li < NLAYERS; li++) {
        iob_layer L;
        if (iob_layer_parse(layers[li], &L, &err)) {
            fprintf(stderr, "%s: built-in layer %s: %s\n", prog, layers[li], err.msg);
            return -1;
        }
        char what[160];
        iob_plan p;
        for (int r = 0; r < IOB_GPU_REF_COUNT; r++) {
            iob_launch rl[4];
            int nl = 0;
            if (iob_gpu_ref_launches(&L, (iob_gpu_ref)r, m.sm_count, rl, 4, &nl, &err)) {
                fprintf(stderr, "%s: %s of layer %s: %s\n", prog, iob_gpu_ref_name((iob_gpu_ref)r),
                        L.name, err.msg);
                return -2;
            }
            snprintf(what, sizeof what, "%s, layer %.100s", iob_gpu_ref_name((iob_gpu_ref)r), L.name);
            for (int i = 0; i < nl && i < 4; i++)
                if (add(it, &rl[i], what))
                    return -1;
        }
        for (int a = 0; a < IOB_ALGO_COUNT; a++) {
            if (!iob_plan_has_builder((iob_algo)a))
                continue;
            iob_config *cfg = NULL;
            size_t nc = 0;
            if (iob_dataflow_enumerate(&L, (iob_algo)a, &m, &cfg, &nc, &err) || nc == 0) {
                free(cfg);
                continue; /* the algorithm does not apply to this layer */
            }
            size_t take = (size_t)per_layer < nc ? (size_t)per_layer : nc;
            for (size_t i = 0; i < take; i++) {
                size_t pick = take > 1 ? i * (nc - 1) / (take - 1) : 0;
                char text[256];
                iob_config_format(&cfg[pick], text, sizeof text);
                snprintf(what, sizeof what, "%.100s, layer %.50s", text, L.name);
                if (iob_plan_build(&L, &cfg[pick], &m, &p, &err)) {
                    fprintf(stderr, "%s: plan of %s: %s\n", prog, what, err.msg);
                    free(cfg);
                    return -2;
                }
                if (add_plan(it, &p, what)) {
                    free(cfg);
                    return -1;
                }
            }
            free(cfg);
        }
    }
    return 0;
}

int iob_cmd_kernels(int argc, char **argv)
{
    const char *prog = "iobound kernels";
    int check = 0, quiet = 0, verbose = 0, arch = 0, per_layer = 6;
    static const struct option longopts[] = {{"check", no_argument, 0, OPT_CHECK},
                                             {"arch", required_argument, 0, OPT_ARCH},
                                             {"per-layer", required_argument, 0, OPT_PER_LAYER},
                                             {"quiet", no_argument, 0, OPT_QUIET},
                                             {"verbose", no_argument, 0, OPT_VERBOSE},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'h':
        case OPT_HELP:
            fputs(help, stdout);
            return 0;
        case OPT_CHECK:
            check = 1;
            break;
        case OPT_ARCH:
            v = strtol(optarg + (strncmp(optarg, "sm_", 3) ? 0 : 3), &end, 10);
            if (*end || v < 30 || v > 999)
                return iob_cli_usage_error(prog, "--arch %s: expected sm_XY, e.g. sm_90", optarg);
            arch = (int)v;
            break;
        case OPT_PER_LAYER:
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000)
                return iob_cli_usage_error(prog, "--per-layer %s: expected 1 to 1000", optarg);
            per_layer = (int)v;
            break;
        case 'q':
        case OPT_QUIET:
            quiet = 1;
            break;
        case 'v':
        case OPT_VERBOSE:
            verbose = 1;
            break;
        default:
            return iob_cli_usage_error(prog, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return iob_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if (!check) {
        for (int i = 0; i < iob_gpu_kernel_file_count(); i++) {
            size_t bytes;
            const char *name = iob_gpu_kernel_file(i, &bytes);
            printf("%-28s %8zu bytes\n", name, bytes);
        }
        return 0;
    }
    iob_error err;
    if (!iob_gpu_built()) {
        iob_gpu_available(&err);
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return IOB_EXIT_RUNTIME;
    }
    if (arch == 0) {
        iob_machine m;
        arch = iob_gpu_available(NULL) == IOB_OK && iob_machine_query_device(&m, NULL) == IOB_OK
                   ? 10 * m.cc_major + m.cc_minor
                   : 90;
    }
    items it = {0};
    char algos[256];
    int c = collect(&it, arch, per_layer, algos, sizeof algos, prog);
    if (c) {
        if (c == -1)
            fprintf(stderr, "%s: out of memory\n", prog);
        free(it.v);
        return IOB_EXIT_RUNTIME;
    }
    iob_launch *ls = malloc((size_t)it.n * sizeof *ls);
    iob_compile_info *info = calloc((size_t)it.n, sizeof *info);
    iob_status *st = calloc((size_t)it.n, sizeof *st);
    iob_error *errs = calloc((size_t)it.n, sizeof *errs);
    if (!ls || !info || !st || !errs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(ls), free(info), free(st), free(errs), free(it.v);
        return IOB_EXIT_RUNTIME;
    }
    for (int i = 0; i < it.n; i++)
        ls[i] = it.v[i].l;
    iob_gpu_compile_many(ls, it.n, arch, info, st, errs, &err);
    int failed = 0, hits = 0;
    double ms = 0;
    for (int i = 0; i < it.n; i++) {
        ms += info[i].ms;
        hits += !st[i] && info[i].cache_hit;
        if (st[i]) {
            failed++;
            fprintf(stderr, "%s: FAIL %s %s (%s): %s\n", prog, ls[i].file, ls[i].entry,
                    it.v[i].what, errs[i].msg);
            if (verbose) {
                iob_error e2;
                iob_gpu_compile(&ls[i], arch, &info[i], &e2); /* again, for this thread's log */
                fprintf(stderr, "%s", iob_gpu_compile_log());
            }
        } else if (!quiet) {
            printf("ok   %-18s %-22s %8.0f ms%s  %s\n", ls[i].file, ls[i].entry, info[i].ms,
                   info[i].cache_hit ? " (cache)" : "", it.v[i].what);
        }
    }
    printf("kernels --check: %d launches compiled for sm_%d (algorithms with a plan builder: "
           "%s): %d ok, %d failed; NVRTC %.1f s, %d from the cache\n", it.n, arch,
           algos[0] ? algos : "none yet", it.n - failed, failed, ms / 1e3, hits);
    free(ls), free(info), free(st), free(errs), free(it.v);
    return failed ? IOB_EXIT_RUNTIME : 0;
}
