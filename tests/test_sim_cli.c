/* test_sim_cli.c - `iobound sim` end to end: bad options give one line on stderr and exit 2;
 * an algorithm without a dataflow model or trace generator gives one clear line and exit 1; an
 * algorithm with both prints simulated = predicted in every format, and --trace writes one din
 * line per access. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "iobound/bound.h"

static char tmpdir[256];

typedef struct result {
    int rc;
    char *out, *err;
    int err_lines;
} result;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs `iobound sim ARGS` through the shell. */
static result run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' sim %s >'%s/out' 2>'%s/err'", IOB_CLI, args, tmpdir, tmpdir);
    int st = system(cmd);
    result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, NULL, NULL, 0};
    char path[512];
    snprintf(path, sizeof path, "%s/out", tmpdir);
    r.out = slurp(path);
    snprintf(path, sizeof path, "%s/err", tmpdir);
    r.err = slurp(path);
    for (char *p = r.err; *p; p++)
        r.err_lines += *p == '\n';
    return r;
}

static void done(result *r)
{
    free(r->out);
    free(r->err);
}

static void expect_usage_error(const char *args, const char *msg)
{
    result r = run(args);
    if (r.rc != 2 || r.err_lines != 1 || !strstr(r.err, msg))
        fail_msg("sim %s: exit %d, stderr '%s' (want exit 2 and one line with '%s')", args, r.rc,
                 r.err, msg);
    done(&r);
}

#define LAYER "--layer name=t,n=2,c=16,h=14,k=24,r=3,pad=1"

static void test_bad_options(void **state)
{
    (void)state;
    expect_usage_error(LAYER " --policy fifo", "--policy: replacement policy 'fifo'");
    expect_usage_error(LAYER " --ways 0", "--ways 0: expected a whole number from 1 to 64");
    expect_usage_error(LAYER " --ways 3", "L2: cache of 52428800 bytes: must be a positive "
                                          "multiple of line x ways = 128 x 3");
    expect_usage_error(LAYER " --l2 1000", "L2: cache of 1000 bytes");
    expect_usage_error(LAYER " --l1 abc", "--l1: 'abc': not a byte count");
    expect_usage_error(LAYER " --l1 1000", "L1: cache of 1000 bytes");
    expect_usage_error(LAYER " --l1 64K --l1-ways 99", "--l1-ways 99");
    expect_usage_error("--net resnet18 --trace x.din", "--trace writes one layer's stream; 20");
    expect_usage_error(LAYER " --config tile_k=abc", "--config: config tile_k=abc");
    expect_usage_error(LAYER " --config '{\"tile_k\": 1.5}'", "'tile_k' is not a whole number");
    expect_usage_error(LAYER " --config '{oops'", "malformed JSON");
    expect_usage_error(LAYER " --config algo=winograd --algo direct",
                       "--config names algo=winograd but --algo is direct");
    expect_usage_error("--ways 4", "no layer: give --layer, --layers or --net");
    expect_usage_error(LAYER " --bogus", "unknown option or missing value: --bogus");
    expect_usage_error(LAYER " --ways", "missing value: --ways");
    expect_usage_error(LAYER " --algo fft", "unknown algorithm 'fft'");
    expect_usage_error(LAYER " --format xml", "--format xml");
    expect_usage_error("--layer c=0,h=3,k=1,r=1", "c=0: must be at least 1");
    expect_usage_error(LAYER " extra", "unexpected argument 'extra'");
    result r = run("--help");
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "--policy P"));
    done(&r);
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);
    if (!cJSON_IsNumber(x))
        fail_msg("%s.%s missing", a, b);
    return x->valuedouble;
}

/* Every algorithm either runs (simulated = predicted, checked in the JSON; din lines = accesses)
 * or says in one line that it has no dataflow model or no trace generator yet. */
static void test_algorithms(void **state)
{
    (void)state;
    int ran = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        char args[1024];
        snprintf(args, sizeof args, LAYER " --algo %s --l2 4M --format json --trace '%s/t.din'",
                 iob_algo_name((iob_algo)a), tmpdir);
        result r = run(args);
        if (r.rc == 1) {
            if (r.err_lines != 1 || !(strstr(r.err, "no dataflow model for algorithm") ||
                                      strstr(r.err, "no trace generator for algorithm")))
                fail_msg("%s: exit 1 with '%s'", iob_algo_name((iob_algo)a), r.err);
            done(&r);
            continue;
        }
        if (r.rc != 0)
            fail_msg("%s: exit %d: %s", iob_algo_name((iob_algo)a), r.rc, r.err);
        ran++;
        cJSON *j = cJSON_Parse(r.out);
        assert_non_null(j);
        const cJSON *L = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "layers"), 0);
        assert_non_null(L);
        assert_true(num(L, "simulated", "l2_read_sectors") ==
                    num(L, "predicted", "l2_read_sectors"));
        assert_true(num(L, "simulated", "l2_write_sectors") ==
                    num(L, "predicted", "l2_write_sectors"));
        assert_true(num(L, "l2", "sets") == 4 * 1048576 / (128 * 16));
        char path[512];
        snprintf(path, sizeof path, "%s/t.din", tmpdir);
        char *din = slurp(path);
        double lines = 0;
        for (char *p = din; *p; p++)
            lines += *p == '\n';
        assert_true(lines == num(L, "simulated", "accesses"));
        assert_true(din[0] == '0' && din[1] == ' ');
        free(din);
        /* the JSON config goes back in unchanged */
        char *cfg = cJSON_PrintUnformatted(cJSON_GetObjectItem(L, "config"));
        cJSON_Delete(j);
        done(&r);
        snprintf(args, sizeof args, LAYER " --algo %s --config '%s' --policy opt --l1 64K",
                 iob_algo_name((iob_algo)a), cfg);
        free(cfg);
        r = run(args);
        if (r.rc != 0 || !strstr(r.out, "SM<->L2 sectors: simulated = predicted") ||
            !strstr(r.out, "L1         read hit rate") || !strstr(r.out, ", opt;"))
            fail_msg("%s: exit %d, out '%s' err '%s'", iob_algo_name((iob_algo)a), r.rc, r.out,
                     r.err);
        done(&r);
        snprintf(args, sizeof args, LAYER " --algo %s --format csv", iob_algo_name((iob_algo)a));
        r = run(args);
        assert_int_equal(r.rc, 0);
        assert_non_null(strstr(r.out, "name,spec,algo,config,policy,"));
        done(&r);
    }
    fprintf(stderr, "%d algorithm(s) simulated end to end\n", ran);
    result r = run(LAYER " --trace /nonexistent/dir/t.din");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "cannot open"));
    done(&r);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/iob-sim-cli-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_algorithms),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
