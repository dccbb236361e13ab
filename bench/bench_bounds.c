/* bench_bounds.c - how long iob_bound_layer takes: every algorithm (direct, winograd, im2col,
 * im2win, gemm) over every layer of every built-in network, and over a layer file (by default
 * bench/layers/convbench-2000.csv). Targets (issue 3, "Speed"): all networks < 50 ms, the 2000
 * convbench rows < 0.5 s, on the 2-core development machine.
 *
 * Timing: CLOCK_MONOTONIC around one pass over the layers, best of R passes (default 5); the
 * machine is h100-sxm (S = shared memory + registers of one SM, FP32). The same passes are then
 * run with OpenMP over the layers (schedule(dynamic), T threads, default 2); the checksum of all
 * applicable bounds must be identical in both runs, or the program exits 1.
 *
 * usage: bench_bounds [-r RUNS] [-t THREADS] [LAYER_FILE]
 * Results and the command: docs/results/bounds-speed.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iobound/bound.h"
#include "iobound/machine.h"
#include "iobound/nets.h"

#define MAX_VARIANTS 16 /* Winograd returns at most 6 (3 tile sizes x fused/stored) */

typedef struct workload {
    char label[64];
    iob_layer_list list;
} workload;

typedef struct pass_result {
    double seconds;   /* best of the runs */
    long calls, errors;
} pass_result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One pass: iob_bound_layer for every layer and every algorithm in [a0, a1). threads = 0: no
 * OpenMP; otherwise that many threads over the layers. sums[i] receives the sum of bound_gpu
 * over the applicable entries of layer i, so that two passes can be compared layer by layer
 * (a single reduced sum would differ in its last bits with the order of the additions). */
static void one_pass(const iob_layer_list *list, int a0, int a1, const iob_bound_opts *opts,
                     int threads, double *sums, long *calls, long *errors)
{
    long ncalls = 0, nerr = 0;
    long n = (long)list->count;
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads > 0 ? threads : 1) \
    reduction(+ : ncalls, nerr) if (threads > 0)
    for (long i = 0; i < n; i++) {
        iob_bound out[MAX_VARIANTS];
        double sum = 0;
        for (int a = a0; a < a1; a++) {
            int count = 0;
            iob_error err;
            ncalls++;
            if (iob_bound_layer(&list->items[i], (iob_algo)a, opts, out, MAX_VARIANTS, &count,
                                &err)) {
                nerr++;
                continue;
            }
            for (int v = 0; v < count; v++)
                if (out[v].applicable)
                    sum += out[v].bound_gpu;
        }
        sums[i] = sum;
    }
    *calls = ncalls;
    *errors = nerr;
}

static pass_result best_of(const iob_layer_list *list, int a0, int a1,
                           const iob_bound_opts *opts, int threads, int runs, double *sums)
{
    pass_result r = {1e300, 0, 0};
    for (int k = 0; k < runs; k++) {
        double t0 = now();
        one_pass(list, a0, a1, opts, threads, sums, &r.calls, &r.errors);
        double dt = now() - t0;
        if (dt < r.seconds)
            r.seconds = dt;
    }
    return r;
}

static int append(iob_layer_list *dst, const iob_layer_list *src)
{
    for (size_t i = 0; i < src->count; i++)
        if (iob_layer_list_push(dst, &src->items[i], NULL))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 5, threads = 2, opt;
    const char *file = "bench/layers/convbench-2000.csv";
    while ((opt = getopt(argc, argv, "r:t:h")) != -1) {
        if (opt == 'r')
            runs = atoi(optarg);
        else if (opt == 't')
            threads = atoi(optarg);
        else {
            fprintf(stderr, "usage: %s [-r RUNS] [-t THREADS] [LAYER_FILE]\n", argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind < argc)
        file = argv[optind];
    if (runs < 1 || threads < 1) {
        fprintf(stderr, "bench_bounds: -r and -t must be at least 1\n");
        return 2;
    }

    iob_error err;
    iob_machine m;
    if (iob_machine_get("h100-sxm", &m, &err)) {
        fprintf(stderr, "bench_bounds: %s\n", err.msg);
        return 1;
    }
    iob_bound_opts opts = iob_bound_opts_for(&m, 4);

    /* workloads: each network, all networks together, the layer file */
    int nnets = iob_net_count();
    workload *w = calloc((size_t)nnets + 2, sizeof *w);
    if (!w)
        return 1;
    int all = nnets, csv = nnets + 1;
    snprintf(w[all].label, sizeof w[all].label, "all %d networks", nnets);
    for (int i = 0; i < nnets; i++) {
        const char *name = iob_net_info_at(i)->name;
        snprintf(w[i].label, sizeof w[i].label, "  %s", name);
        if (iob_net_layers(name, 1, &w[i].list, &err)) {
            fprintf(stderr, "bench_bounds: %s: %s\n", name, err.msg);
            return 1;
        }
        if (append(&w[all].list, &w[i].list)) {
            fprintf(stderr, "bench_bounds: out of memory\n");
            return 1;
        }
    }
    const char *base = strrchr(file, '/');
    snprintf(w[csv].label, sizeof w[csv].label, "%s", base ? base + 1 : file);
    if (iob_layers_read_file(file, &w[csv].list, &err)) {
        fprintf(stderr, "bench_bounds: %s\n", err.msg);
        return 1;
    }

    printf("iob_bound_layer, all %d algorithms per layer, machine %s (S = %.0f words, P = %d), "
           "best of %d, batch 1 for the networks\n\n",
           IOB_ALGO_COUNT, m.name, opts.s_words, opts.processors, runs);
    printf("%-26s %6s %7s %11s %13s %8s %7s\n", "workload", "layers", "calls", "serial ms",
           "omp ms", "speedup", "us/call");
    int status = 0;
    for (int i = 0; i < nnets + 2; i++) {
        size_t n = w[i].list.count;
        double *ss = calloc(n, sizeof *ss), *ps = calloc(n, sizeof *ps);
        if (!ss || !ps)
            return 1;
        pass_result s = best_of(&w[i].list, 0, IOB_ALGO_COUNT, &opts, 0, runs, ss);
        pass_result p = best_of(&w[i].list, 0, IOB_ALGO_COUNT, &opts, threads, runs, ps);
        size_t differ = 0;
        for (size_t j = 0; j < n; j++)
            differ += ss[j] != ps[j];
        free(ss);
        free(ps);
        char omp_col[32];
        snprintf(omp_col, sizeof omp_col, "%.2f (%dT)", 1e3 * p.seconds, threads);
        printf("%-26s %6zu %7ld %11.2f %13s %7.2fx %7.1f%s\n", w[i].label, w[i].list.count,
               s.calls, 1e3 * s.seconds, omp_col, s.seconds / p.seconds,
               1e6 * s.seconds / (double)s.calls, s.errors ? "  (errors!)" : "");
        if (differ || s.errors) {
            fprintf(stderr, "bench_bounds: %s: %zu layers differ between serial and OpenMP, "
                    "%ld calls failed\n", w[i].label, differ, s.errors);
            status = 1;
        }
    }

    /* where the time goes: one algorithm at a time, serial */
    printf("\nper algorithm, serial, best of %d (ms)\n%-10s", runs, "algorithm");
    int show[2] = {all, csv};
    for (int j = 0; j < 2; j++)
        printf(" %22s", w[show[j]].label);
    printf("\n");
    double *scratch = calloc(w[csv].list.count + w[all].list.count, sizeof *scratch);
    if (!scratch)
        return 1;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        printf("%-10s", iob_algo_name((iob_algo)a));
        for (int j = 0; j < 2; j++)
            printf(" %22.2f",
                   1e3 * best_of(&w[show[j]].list, a, a + 1, &opts, 0, runs, scratch).seconds);
        printf("\n");
    }
    free(scratch);

    /* the slowest layers of the networks: each layer alone, all algorithms, best of runs */
    enum { TOP = 5 };
    int top[TOP];
    double top_s[TOP];
    int ntop = 0;
    iob_layer_list one = {0};
    for (size_t i = 0; i < w[all].list.count; i++) {
        one.items = &w[all].list.items[i]; /* borrowed: one.count = 1, never freed */
        one.count = 1;
        double sum;
        double t = best_of(&one, 0, IOB_ALGO_COUNT, &opts, 0, runs, &sum).seconds;
        int pos = ntop < TOP ? ntop++ : TOP;
        while (pos > 0 && top_s[pos - 1] < t) {
            if (pos < TOP) {
                top[pos] = top[pos - 1];
                top_s[pos] = top_s[pos - 1];
            }
            pos--;
        }
        if (pos < TOP) {
            top[pos] = (int)i;
            top_s[pos] = t;
        }
    }
    printf("\nslowest network layers, all %d algorithms, serial, best of %d\n", IOB_ALGO_COUNT,
           runs);
    for (int j = 0; j < ntop; j++) {
        const iob_layer *L = &w[all].list.items[top[j]];
        int net = 0; /* the network the layer came from: w[] lists them in order */
        for (size_t before = w[0].list.count; before <= (size_t)top[j]; )
            before += w[++net].list.count;
        printf("%8.3f ms  %-12s %-30s c%lld %lldx%lld k%lld %lldx%lld /%lld pad %lld\n",
               1e3 * top_s[j], iob_net_info_at(net)->name, L->name, (long long)L->c,
               (long long)L->h, (long long)L->w, (long long)L->k, (long long)L->r,
               (long long)L->s, (long long)L->stride_h, (long long)L->pad_top);
    }

    for (int i = 0; i < nnets + 2; i++)
        iob_layer_list_free(&w[i].list);
    free(w);
    return status;
}
