/* bench_fetch.c - the SM<-L2 read sectors a config fetches on the H100 (iob_dataflow_fetch_sectors:
 * the closed form plus iob_dataflow_split_sectors, docs/counters.md) beside the closed form, and the time
 * the walk takes. No GPU needed.
 *
 *   bench_fetch LAYER_SPEC CONFIG [LAYER_SPEC CONFIG ...]
 *
 * Prints one CSV line per pair: layer, config, predicted l2_read_sectors, fetched sectors, ms.
 */
#include <stdio.h>
#include <time.h>

#include "iobound/dataflow.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (argc - 1) % 2) {
        fprintf(stderr, "usage: bench_fetch LAYER_SPEC CONFIG [LAYER_SPEC CONFIG ...]\n");
        return 2;
    }
    iob_machine m;
    iob_error err = {0};
    if (iob_machine_get("h100-sxm", &m, &err)) {
        fprintf(stderr, "bench_fetch: %s\n", err.msg);
        return 2;
    }
    printf("layer,config,predicted_read_sectors,fetched_read_sectors,walk_ms\n");
    int rc = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        iob_layer L;
        iob_config c;
        iob_traffic t;
        uint64_t split;
        if (iob_layer_parse(argv[i], &L, &err) || iob_config_parse(argv[i + 1], &c, &err) ||
            iob_dataflow_predict(&L, &c, &m, &t, &err)) {
            fprintf(stderr, "bench_fetch: %s: %s\n", argv[i], err.msg);
            rc = 1;
            continue;
        }
        double t0 = now_ms();
        if (iob_dataflow_split_sectors(&L, &c, &m, &split, &err)) {
            fprintf(stderr, "bench_fetch: %s: %s\n", argv[i], err.msg);
            rc = 1;
            continue;
        }
        printf("%s,\"%s\",%llu,%llu,%.1f\n", L.name[0] ? L.name : "-", argv[i + 1],
               (unsigned long long)t.l2_read_sectors,
               (unsigned long long)(t.l2_read_sectors + split), now_ms() - t0);
    }
    return rc;
}
