/* bench_sim_throughput.c - speed of the cache simulator (results: docs/results/sim.md).
 *
 *   1. Sector accesses per second on one core through the L2 model of an H100 (50 MiB, 16 ways,
 *      128-byte lines of 32-byte sectors, LRU), on a realistic stream: the SM->L2 stream of a
 *      synthetic tiled direct 3x3 convolution (tests/sim_synth.h) as the GPU replay interleaves
 *      it (132 SMs x 2 blocks), captured once in memory and then replayed through the cache
 *      alone (median of --reps runs). Also the whole replay, generation included.
 *   2. The same stream through pycachesim (bench/pycachesim_replay.py, same geometry, LRU; not
 *      sectored), timed inside its load/store calls; the ratio of the two rates.
 *   3. ResNet-50 at batch 32, every layer with its best direct config (objective: time),
 *      simulated with OpenMP across layers: total wall time. Needs the direct dataflow and trace
 *      generator; says "pending" without them.
 *   4. --rss FILE: peak RSS of simulating each layer of FILE (a fork per layer, wait4's
 *      ru_maxrss) with LRU and OPT at --batch N; also pending without the direct trace.
 *
 * usage: bench_sim_throughput [--synth N,C,H,K] [--reps R] [--python SCRIPT | --no-python]
 *                             [--no-resnet] [--rss FILE] [--batch N] [--threads T]
 */
#define _GNU_SOURCE /* wait4, mkstemps */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iobound/nets.h"
#include "iobound/sim.h"
#include "tests/sim_synth.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this thread: on a machine shared with other jobs, the time the thread really ran
 * (wall time counts the time it waited for a core too). */
static double cpu_now(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ')
                    p++;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, size, "%s", p);
            }
            break;
        }
    fclose(f);
}

static iob_cache *l2_cache(int line, int sector)
{
    iob_cache_config cc = {50ll << 20, line, sector, 16, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK};
    iob_cache *c;
    iob_error err;
    if (iob_cache_create(&cc, &c, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    return c;
}

/* ---- 3. ResNet-50 ----------------------------------------------------------------------- */

static int bench_resnet(const iob_machine *m, int threads)
{
    iob_layer_list list = {0};
    iob_error err;
    if (iob_net_layers("resnet50", 32, &list, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    size_t n = list.count;
    iob_config *cfg = calloc(n, sizeof *cfg);
    iob_sim_result *res = calloc(n, sizeof *res);
    double *secs = calloc(n, sizeof *secs);
    int *ok = calloc(n, sizeof *ok);
    size_t nok = 0;
    for (size_t i = 0; i < n; i++) {
        iob_traffic t;
        iob_status bst = iob_dataflow_best(&list.items[i], IOB_ALGO_DIRECT, m, IOB_OBJ_TIME,
                                           &cfg[i], &t, &err);
        if (bst == IOB_ENOTSUP) {
            printf("\n## ResNet-50, batch 32: pending (%s)\n", err.msg);
            goto done;
        }
        if (bst)
            printf("resnet50 %s: %s (left out)\n", list.items[i].name, err.msg);
        ok[i] = bst == IOB_OK;
        nok += (size_t)ok[i];
    }
    iob_status first = IOB_OK;
    iob_error first_err;
    double t0 = now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        iob_error e;
        iob_sim_opts o;
        iob_sim_opts_init(&o);
        o.threads = 1;
        double s0 = now();
        iob_status st = iob_sim_layer(&list.items[i], &cfg[i], m, &o, &res[i], &e);
        secs[i] = now() - s0;
#pragma omp critical
        if (st && !first) {
            first = st;
            first_err = e;
        }
    }
    double total = now() - t0;
    if (first) {
        printf("\n## ResNet-50, batch 32: pending (%s)\n", first_err.msg);
        goto done;
    }
    uint64_t acc = 0;
    printf("\n## ResNet-50, batch 32, best direct config per layer (objective time), LRU, "
           "%d threads\n\n| layer | config | accesses | L2 read hit | DRAM read | seconds |\n"
           "|---|---|---:|---:|---:|---:|\n", threads);
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        char text[256];
        iob_config_format(&cfg[i], text, sizeof text);
        printf("| %s | %s | %llu | %.4f | %llu | %.3f |\n", list.items[i].name, text,
               (unsigned long long)res[i].accesses, res[i].l2_read_hit_rate,
               (unsigned long long)res[i].dram_read_bytes, secs[i]);
        acc += res[i].accesses;
    }
    printf("\ntotal: %zu of %zu layers, %llu sector accesses, %.2f s wall (target: < 10 s)\n",
           nok, n, (unsigned long long)acc, total);
done:
    free(ok);
    free(cfg);
    free(res);
    free(secs);
    iob_layer_list_free(&list);
    return 0;
}

/* ---- 4. peak RSS per layer ----------------------------------------------------------------- */

static void bench_rss(const char *path, int64_t batch, const iob_machine *m)
{
    iob_layer_list list = {0};
    iob_error err;
    if (iob_layers_read_file(path, &list, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return;
    }
    printf("\n## Peak RSS per layer of %s at batch %lld (best direct config, objective time)\n\n"
           "| layer | policy | accesses | max block accesses | peak RSS MiB | seconds |\n"
           "|---|---|---:|---:|---:|---:|\n", path, (long long)batch);
    for (size_t i = 0; i < list.count; i++) {
        iob_layer L = list.items[i];
        L.n = batch;
        iob_config cfg;
        iob_traffic t;
        iob_status bst = iob_dataflow_best(&L, IOB_ALGO_DIRECT, m, IOB_OBJ_TIME, &cfg, &t, &err);
        if (bst == IOB_ENOTSUP) {
            printf("pending (%s)\n", err.msg);
            break;
        }
        if (bst) {
            printf("| %s | - | %s | | | |\n", L.name, err.msg);
            continue;
        }
        char spec[600];
        iob_layer_format(&L, spec, sizeof spec);
        for (int pol = 0; pol < 2; pol++) {
            /* a fresh process per run (fork + exec: a forked OpenMP process must not run
             * parallel regions), its peak RSS from wait4 */
            int fds[2];
            if (pipe(fds))
                return;
            fflush(stdout);
            char *args[] = {"bench_sim_throughput", "--rss-one", spec, "--rss-policy",
                            pol ? "opt" : "lru", NULL};
            pid_t pid = fork();
            if (pid == 0) {
                dup2(fds[1], 1);
                close(fds[0]);
                close(fds[1]);
                execv("/proc/self/exe", args);
                _exit(127);
            }
            close(fds[1]);
            char msg[700] = "";
            ssize_t k = read(fds[0], msg, sizeof msg - 1);
            msg[k > 0 ? k : 0] = '\0';
            msg[strcspn(msg, "\n")] = '\0';
            close(fds[0]);
            int status;
            struct rusage ru;
            wait4(pid, &status, 0, &ru);
            unsigned long long a = 0, mb = 0;
            double s = 0;
            if (sscanf(msg, "%llu %llu %lf", &a, &mb, &s) == 3)
                printf("| %s | %s | %llu | %llu | %.0f | %.2f |\n", L.name,
                       iob_cache_policy_name((iob_cache_policy)pol), a, mb,
                       (double)ru.ru_maxrss / 1024.0, s);
            else
                printf("| %s | %s | %s | | %.0f | |\n", L.name,
                       iob_cache_policy_name((iob_cache_policy)pol), msg,
                       (double)ru.ru_maxrss / 1024.0);
        }
    }
    iob_layer_list_free(&list);
}

/* --rss-one SPEC: one layer, one policy, in this process; prints "accesses max_block seconds". */
static int rss_one(const char *spec, const char *policy)
{
    iob_machine m;
    iob_layer L;
    iob_config cfg;
    iob_traffic t;
    iob_error err;
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    iob_sim_result r;
    if (iob_machine_get("h100-sxm", &m, &err) || iob_layer_parse(spec, &L, &err) ||
        iob_cache_policy_parse(policy, &o.l2_policy, &err) ||
        iob_dataflow_best(&L, IOB_ALGO_DIRECT, &m, IOB_OBJ_TIME, &cfg, &t, &err)) {
        printf("error %s\n", err.msg);
        return 1;
    }
    double t0 = now();
    if (iob_sim_layer(&L, &cfg, &m, &o, &r, &err)) {
        printf("error %s\n", err.msg);
        return 1;
    }
    printf("%llu %llu %.3f\n", (unsigned long long)r.accesses,
           (unsigned long long)r.max_block_accesses, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    synth_conv s = {.n = 32, .c = 256, .h = 56, .w = 56, .k = 256,
                    .tile_k = 64, .tile_p = 8, .tile_q = 28, .tile_c = 8};
    int reps = 5, resnet = 1, threads = omp_get_max_threads();
    const char *python = "bench/pycachesim_replay.py", *rss = NULL; /* run from the root */
    long long batch = 32;
    const char *rss_spec = NULL, *rss_policy = "lru";
    static const struct option longopts[] = {
        {"synth", required_argument, 0, 's'}, {"reps", required_argument, 0, 'r'},
        {"python", required_argument, 0, 'p'}, {"no-python", no_argument, 0, 'P'},
        {"no-resnet", no_argument, 0, 'R'}, {"rss", required_argument, 0, 'm'},
        {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'},
        {"rss-one", required_argument, 0, 'O'}, {"rss-policy", required_argument, 0, 'Q'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        long long n, c, h, k;
        switch (opt) {
        case 's':
            if (sscanf(optarg, "%lld,%lld,%lld,%lld", &n, &c, &h, &k) != 4 || n < 1 || c < 1 ||
                h < 1 || k < 1) {
                fprintf(stderr, "bench: --synth N,C,H,K\n");
                return 2;
            }
            s.n = n, s.c = c, s.h = s.w = h, s.k = k;
            break;
        case 'r': reps = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'p': python = optarg; break;
        case 'P': python = NULL; break;
        case 'R': resnet = 0; break;
        case 'm': rss = optarg; break;
        case 'b': batch = atoll(optarg) > 0 ? atoll(optarg) : 1; break;
        case 't': threads = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'O': rss_spec = optarg; break;
        case 'Q': rss_policy = optarg; break;
        default: return 2;
        }
    }
    if (rss_spec)
        return rss_one(rss_spec, rss_policy);
    iob_machine m;
    iob_error err;
    if (iob_machine_get("h100-sxm", &m, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("# bench_sim_throughput\n\nmachine: %s, %ld cores online, OpenMP threads %d\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), threads);

    /* 1. capture the interleaved SM->L2 stream of the synthetic convolution */
    synth_conv_layout(&s);
    iob_trace t;
    synth_conv_trace(&s, &t);
    synth_ops cap = {0};
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.blocks_per_sm = 2;
    o.observer = synth_ops_observer;
    o.observer_ctx = &cap;
    o.threads = threads;
    iob_sim_result full;
    if (iob_sim_run(&t, &m, &o, &full, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    /* the whole replay, without the capture: generation (OpenMP) + interleaving + L2 */
    o.observer = NULL;
    double t_full[2];
    for (int i = 0; i < 2; i++) {
        o.threads = i ? 1 : threads;
        iob_sim_result r;
        double t0 = now();
        iob_sim_run(&t, &m, &o, &r, &err);
        t_full[i] = now() - t0;
    }
    double t0;
    printf("\nstream: synthetic direct 3x3 conv n=%lld c=%lld h=w=%lld k=%lld, tiles k%lld p%lld "
           "q%lld c%lld, %lld blocks on 132 SMs x 2; %zu sector accesses (%.1f%% stores), "
           "footprint %.0f MiB\n",
           (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.k, (long long)s.tile_k,
           (long long)s.tile_p, (long long)s.tile_q, (long long)s.tile_c,
           (long long)synth_conv_blocks(&s), cap.n,
           100.0 * (double)full.l2_write_sectors / (double)cap.n,
           (double)(s.out_base + (uint64_t)(s.n * s.k * s.h * s.w * 4) - s.in_base) / 1048576.0);
    printf("L2 (50 MiB, 16 ways, 128/32 B, LRU): read hit rate %.4f, DRAM read %.1f MB, "
           "DRAM write %.1f MB\n", full.l2_read_hit_rate, (double)full.dram_read_bytes / 1e6,
           (double)full.dram_write_bytes / 1e6);

    double *ts = calloc((size_t)reps, sizeof *ts), *cs = calloc((size_t)reps, sizeof *cs);
    iob_cache_stats st = {0};
    for (int r = 0; r < reps; r++) {
        iob_cache *c = l2_cache(128, 32);
        t0 = now();
        double c0 = cpu_now();
        iob_cache_run(c, cap.ops, cap.n);
        cs[r] = cpu_now() - c0;
        ts[r] = now() - t0;
        st = iob_cache_stats_get(c);
        iob_cache_destroy(c);
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
    qsort(cs, (size_t)reps, sizeof *cs, cmp_double);
    double med = ts[reps / 2], med_cpu = cs[reps / 2];
    double load[3] = {0, 0, 0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        fclose(la);
    }
    printf("\n## 1. cache alone, one core (load average %.2f)\n\n%d runs: wall median %.3f s, "
           "min %.3f s -> %.1f M sector accesses/s (median), %.1f M/s (best)\n"
           "thread CPU time: median %.3f s, min %.3f s -> %.1f M sector accesses per CPU-second "
           "(median), %.1f M (best)\n",
           load[0], reps, med, ts[0], (double)cap.n / med / 1e6, (double)cap.n / ts[0] / 1e6,
           med_cpu, cs[0], (double)cap.n / med_cpu / 1e6, (double)cap.n / cs[0] / 1e6);
    if (st.read_hits != full.l2.read_hits)
        printf("MISMATCH: cache alone %llu read hits, replay %llu\n",
               (unsigned long long)st.read_hits, (unsigned long long)full.l2.read_hits);
    printf("whole replay (generation + interleaving + L2): %.2f s with %d threads (%.1f M/s), "
           "%.2f s with 1 (%.1f M/s)\n", t_full[0], threads, (double)cap.n / t_full[0] / 1e6,
           t_full[1], (double)cap.n / t_full[1] / 1e6);

    /* 2. pycachesim on the same stream (binary dump) */
    if (python) {
        char path[512];
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/iob-bench-XXXXXX.bin", dir && *dir ? dir : "/tmp");
        int fd = mkstemps(path, 4);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!f || fwrite(cap.ops, sizeof *cap.ops, cap.n, f) != cap.n || fclose(f)) {
            fprintf(stderr, "bench: cannot write %s\n", path);
            return 1;
        }
        /* our cache without sectors (pycachesim's model), median of the same number of runs */
        iob_cache_stats sl = {0};
        for (int r = 0; r < reps; r++) {
            iob_cache *c = l2_cache(128, 128);
            double c0 = cpu_now();
            iob_cache_run(c, cap.ops, cap.n);
            cs[r] = cpu_now() - c0;
            sl = iob_cache_stats_get(c);
            iob_cache_destroy(c);
        }
        qsort(cs, (size_t)reps, sizeof *cs, cmp_double);
        double t_line = cs[reps / 2];
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "python3 '%s' '%s' --sets 25600 --ways 16 --line 128", python,
                 path);
        printf("\n## 2. pycachesim, same stream, same geometry (not sectored)\n\n$ %s\n", cmd);
        fflush(stdout);
        FILE *p = popen(cmd, "r");
        char out[4096] = "";
        size_t k = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[k] = '\0';
        int rc = p ? pclose(p) : -1;
        unlink(path);
        double py_s = 0, py_cpu = 0, hit = 0, miss = 0;
        char *q = strstr(out, "\"seconds\": ");
        if (rc == 0 && q)
            py_s = atof(q + 11);
        if ((q = strstr(out, "\"cpu_seconds\": ")))
            py_cpu = atof(q + 15);
        if ((q = strstr(out, "\"HIT_count\": ")))
            hit = atof(q + 13);
        if ((q = strstr(out, "\"MISS_count\": ")))
            miss = atof(q + 14);
        if (py_s > 0 && py_cpu > 0) {
            printf("%s", out);
            printf("pycachesim: %.2f s wall, %.2f s CPU in load/store calls -> %.2f M accesses "
                   "per CPU-second\n", py_s, py_cpu, (double)cap.n / py_cpu / 1e6);
            printf("ours, same geometry without sectors (median of %d): %.3f s CPU -> %.1f M "
                   "accesses per CPU-second; ratio %.1fx\n", reps, t_line,
                   (double)cap.n / t_line / 1e6, py_cpu / t_line);
            printf("ours with sectors (median CPU time above): ratio %.1fx\n", py_cpu / med_cpu);
            printf("counts: pycachesim HIT %.0f MISS %.0f; ours (line mode) read hits %llu, "
                   "misses %llu, store hits %llu (pycachesim counts a store hit as neither)\n",
                   hit, miss, (unsigned long long)sl.read_hits,
                   (unsigned long long)(sl.read_misses + sl.write_misses),
                   (unsigned long long)sl.write_hits);
        } else {
            printf("pycachesim did not run (exit %d): %s\n", rc, out);
        }
    }
    free(cap.ops);
    free(ts);
    free(cs);

    if (resnet)
        bench_resnet(&m, threads);
    if (rss)
        bench_rss(rss, batch, &m);
    return 0;
}
