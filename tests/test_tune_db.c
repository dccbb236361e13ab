/* test_tune_db.c - the tuning database: round trip, one entry per layer shape, invalidation when
 * the kernel sources change, two writer processes losing nothing, a corrupt file reported and
 * set aside (never overwritten), the file name from the device, and the kernel hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

static char dir[256], path[512];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/iob-tune-db-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    /* a folder that does not exist yet: the store creates it */
    snprintf(path, sizeof path, "%s/cache/iobound/tune-test.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static iob_tune_entry entry(const char *spec, double t, const char *hash)
{
    iob_tune_entry e;
    memset(&e, 0, sizeof e);
    iob_layer L;
    if (iob_layer_parse(spec, &L, NULL))
        fail_msg("bad spec %s", spec);
    iob_tune_layer_key(&L, e.layer, sizeof e.layer);
    snprintf(e.name, sizeof e.name, "%s", L.name);
    snprintf(e.config, sizeof e.config, "algo=direct,tile_k=64,tile_p=4,tile_q=8,stages=2,"
             "split_c=1");
    e.time_ms = t;
    e.cudnn_fp32_ms = 2 * t;
    e.cudnn_tf32_ms = NAN;
    e.measured = 7;
    e.feasible = 140;
    e.tune_s = 1.25;
    snprintf(e.kernel_hash, sizeof e.kernel_hash, "%s", hash);
    return e;
}

static const char *H1 = "0123456789abcdef", *H2 = "fedcba9876543210";

static void store_ok(const iob_tune_entry *e, size_t n)
{
    iob_error err = {0};
    char warn[600];
    if (iob_tune_db_store(path, "Test GPU", "90", e, n, warn, sizeof warn, &err))
        fail_msg("store: %s", err.msg);
    assert_string_equal(warn, "");
}

static void test_round_trip(void **state)
{
    (void)state;
    iob_tune_entry in[2] = {entry("name=a,c=64,h=56,k=64,r=3,pad=1", 0.125, H1),
                            entry("name=b,n=32,c=256,h=14,k=256,r=3,pad=1", 0.5, H1)};
    snprintf(in[1].date, sizeof in[1].date, "2026-11-23T10:00:00Z");
    store_ok(in, 2);
    iob_tune_entry *out;
    size_t n;
    assert_int_equal(iob_tune_db_read(path, &out, &n, NULL), IOB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].layer, in[0].layer);
    assert_null(strstr(out[0].layer, "name=")); /* the key is the shape */
    assert_string_equal(out[0].name, "a");
    assert_string_equal(out[0].config, in[0].config);
    assert_true(out[0].time_ms == 0.125 && out[0].cudnn_fp32_ms == 0.25);
    assert_true(isnan(out[0].cudnn_tf32_ms));
    assert_int_equal(out[0].measured, 7);
    assert_int_equal(out[0].feasible, 140);
    assert_true(out[0].tune_s == 1.25);
    assert_string_equal(out[0].kernel_hash, H1);
    assert_int_equal(strlen(out[0].date), 20); /* stamped at store: 2026-11-23T10:00:00Z */
    assert_string_equal(out[1].date, "2026-11-23T10:00:00Z");
    free(out);

    /* lookup: the same shape under another name hits; another shape misses */
    iob_layer L;
    iob_tune_entry e;
    iob_tune_db_state st;
    iob_layer_parse("name=other,c=64,h=56,w=56,k=64,r=3,s=3,pad=1", &L, NULL);
    assert_int_equal(iob_tune_db_lookup(path, &L, H1, &e, &st, NULL), IOB_OK);
    assert_int_equal(st, IOB_TUNE_DB_HIT);
    assert_true(e.time_ms == 0.125);
    iob_layer_parse("c=64,h=56,k=64,r=3,pad=1,stride=2", &L, NULL);
    assert_int_equal(iob_tune_db_lookup(path, &L, H1, &e, &st, NULL), IOB_OK);
    assert_int_equal(st, IOB_TUNE_DB_MISS);
    /* a missing file is a miss, not an error */
    char none[600];
    snprintf(none, sizeof none, "%s/none.json", dir);
    assert_int_equal(iob_tune_db_lookup(none, &L, H1, &e, &st, NULL), IOB_OK);
    assert_int_equal(st, IOB_TUNE_DB_MISS);
    assert_int_equal(iob_tune_db_read(none, &out, &n, NULL), IOB_OK);
    assert_int_equal(n, 0);

    /* a second store of a layer replaces its entry */
    iob_tune_entry again = entry("name=a2,c=64,h=56,k=64,r=3,pad=1", 0.0625, H1);
    store_ok(&again, 1);
    assert_int_equal(iob_tune_db_read(path, &out, &n, NULL), IOB_OK);
    assert_int_equal(n, 2);
    assert_true(out[0].time_ms == 0.0625);
    assert_string_equal(out[0].name, "a2");
    free(out);
    /* no temporary file is left behind */
    char parent[600];
    snprintf(parent, sizeof parent, "%s/cache/iobound", dir);
    DIR *d = opendir(parent);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_null(strstr(de->d_name, ".tmp."));
    closedir(d);
}

static void test_bad_entries_are_refused(void **state)
{
    (void)state;
    iob_tune_entry e = entry("c=8,h=8,k=8,r=3", 1, H1);
    snprintf(e.config, sizeof e.config, "algo=fft");
    iob_error err;
    assert_int_equal(iob_tune_db_store(path, "", "", &e, 1, NULL, 0, &err), IOB_EINVAL);
    e = entry("c=8,h=8,k=8,r=3", 0, H1);
    assert_int_equal(iob_tune_db_store(path, "", "", &e, 1, NULL, 0, &err), IOB_EINVAL);
    e = entry("c=8,h=8,k=8,r=3", 1, "abc");
    assert_int_equal(iob_tune_db_store(path, "", "", &e, 1, NULL, 0, &err), IOB_EINVAL);
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
}

static void test_invalidation(void **state)
{
    (void)state;
    iob_tune_entry e = entry("name=x,c=32,h=28,k=32,r=3,pad=1", 0.25, H1);
    store_ok(&e, 1);
    iob_layer L;
    iob_layer_parse("c=32,h=28,k=32,r=3,pad=1", &L, NULL);
    iob_tune_entry got;
    iob_tune_db_state st;
    assert_int_equal(iob_tune_db_lookup(path, &L, H2, &got, &st, NULL), IOB_OK);
    assert_int_equal(st, IOB_TUNE_DB_STALE);
    assert_string_equal(got.kernel_hash, H1);
    assert_true(got.time_ms == 0.25);

    /* what `run --config tuned` sees: this build's hash differs from H1 -> stale */
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_config cfg;
    iob_error err;
    assert_int_equal(iob_tune_db_config(path, &m, 0, &L, &cfg, NULL, &err), IOB_ENOTSUP);
    assert_non_null(strstr(err.msg, "other kernel sources"));
    /* stored with this build's hash -> the config */
    char hash[17];
    iob_tune_kernel_hash(hash);
    e = entry("c=32,h=28,k=32,r=3,pad=1", 0.2, hash);
    store_ok(&e, 1);
    iob_tune_entry full;
    assert_int_equal(iob_tune_db_config(path, &m, 0, &L, &cfg, &full, &err), IOB_OK);
    iob_config want;
    iob_config_parse(e.config, &want, NULL);
    assert_true(iob_config_equal(&cfg, &want));
    assert_true(full.time_ms == 0.2);
    iob_layer_parse("c=32,h=28,k=32,r=5,pad=2", &L, NULL);
    assert_int_equal(iob_tune_db_config(path, &m, 0, &L, &cfg, NULL, &err), IOB_ENOTSUP);
    assert_non_null(strstr(err.msg, "iobound tune --layer n=1,c=32"));
}

static void test_kernel_hash(void **state)
{
    (void)state;
    char a[17], b[17], c[17];
    iob_tune_hash_files(NULL, 0, a);
    assert_string_equal(a, "cbf29ce484222325"); /* FNV-1a 64 offset basis: no file */
    iob_kernel_file f = {"k.cu", "x", 1};
    iob_tune_hash_files(&f, 1, a);
    assert_string_equal(a, "1616f392d3593ff0"); /* by hand (python): k.cu \0 x \0 */
    iob_kernel_file g = {"k.cu", "y", 1};
    iob_tune_hash_files(&g, 1, b);
    assert_string_not_equal(a, b); /* one changed byte */
    iob_kernel_file h = {"k.cux", "", 0}; /* the name/text boundary counts */
    iob_tune_hash_files(&h, 1, c);
    assert_string_not_equal(a, c);
    iob_tune_kernel_hash(a);
    iob_tune_kernel_hash(b);
    assert_string_equal(a, b);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
}

/* Two processes store 40 entries each, one at a time, into one file: all 80 are there. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    enum { PER = 40 };
    pid_t kids[2];
    for (int p = 0; p < 2; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            for (int i = 0; i < PER; i++) {
                char spec[96];
                snprintf(spec, sizeof spec, "c=%d,h=%d,k=8,r=1", i + 1, 10 + p);
                iob_tune_entry e = entry(spec, 1.0 + i + 100 * p, H1);
                if (iob_tune_db_store(path, "Test GPU", "90", &e, 1, NULL, 0, NULL))
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    iob_tune_entry *out;
    size_t n;
    assert_int_equal(iob_tune_db_read(path, &out, &n, NULL), IOB_OK);
    assert_int_equal(n, 2 * PER);
    int seen[2][PER] = {{0}};
    for (size_t i = 0; i < n; i++) {
        iob_layer L;
        assert_int_equal(iob_layer_parse(out[i].layer, &L, NULL), IOB_OK);
        int p = (int)L.h - 10, k = (int)L.c - 1;
        assert_true(p >= 0 && p < 2 && k >= 0 && k < PER);
        assert_true(out[i].time_ms == 1.0 + k + 100 * p);
        seen[p][k]++;
    }
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < PER; k++)
            assert_int_equal(seen[p][k], 1);
    free(out);
}

static void write_file(const char *p, const char *text)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_corrupt_file(void **state)
{
    (void)state;
    const char *junk = "{\"format\": \"iobound-tune\", \"version\": 1, \"entries\": [ {\"lay";
    write_file(path, junk);
    iob_layer L;
    iob_layer_parse("c=8,h=8,k=8,r=3", &L, NULL);
    iob_tune_entry e;
    iob_tune_db_state st;
    iob_error err;
    assert_int_equal(iob_tune_db_lookup(path, &L, H1, &e, &st, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a tuning database (malformed JSON"));
    assert_null(strchr(err.msg, '\n'));

    /* the store sets it aside, says so in one line, and starts afresh */
    e = entry("c=8,h=8,k=8,r=3", 0.5, H1);
    char warn[900];
    assert_int_equal(iob_tune_db_store(path, "Test GPU", "90", &e, 1, warn, sizeof warn, &err),
                     IOB_OK);
    assert_non_null(strstr(warn, "moved it to "));
    assert_null(strchr(warn, '\n'));
    const char *aside = strstr(warn, "moved it to ") + strlen("moved it to ");
    char aside_path[700];
    snprintf(aside_path, sizeof aside_path, "%.*s", (int)strcspn(aside, " "), aside);
    assert_non_null(strstr(aside_path, ".corrupt-"));
    FILE *fp = fopen(aside_path, "r");
    assert_non_null(fp);
    char back[200] = "";
    size_t got = fread(back, 1, sizeof back - 1, fp);
    fclose(fp);
    back[got] = '\0';
    assert_string_equal(back, junk); /* untouched */
    iob_tune_entry *out;
    size_t n;
    assert_int_equal(iob_tune_db_read(path, &out, &n, NULL), IOB_OK);
    assert_int_equal(n, 1);
    free(out);

    /* valid JSON, wrong content: also not a database; twice in one second gets two names */
    const char *bad[] = {"[1, 2, 3]", "{\"format\": \"iobound-tune\", \"version\": 7, "
                                      "\"entries\": []}",
                         "{\"format\": \"iobound-tune\", \"version\": 1, \"entries\": "
                         "[{\"layer\": \"c=8,h=8,k=8,r=3\", \"config\": \"algo=direct\", "
                         "\"kernel_hash\": \"0123456789abcdef\", \"time_ms\": -1}]}"};
    const char *why[] = {"no \"format\"", "version 7", "no positive time_ms"};
    char first_aside[700] = "";
    for (int i = 0; i < 3; i++) {
        write_file(path, bad[i]);
        assert_int_equal(iob_tune_db_read(path, &out, &n, &err), IOB_EINVAL);
        assert_non_null(strstr(err.msg, why[i]));
        assert_int_equal(iob_tune_db_store(path, "", "", &e, 1, warn, sizeof warn, &err),
                         IOB_OK);
        aside = strstr(warn, "moved it to ") + strlen("moved it to ");
        char this_aside[700];
        snprintf(this_aside, sizeof this_aside, "%.*s", (int)strcspn(aside, " "), aside);
        assert_string_not_equal(this_aside, first_aside);
        snprintf(first_aside, sizeof first_aside, "%s", this_aside);
        assert_int_equal(access(this_aside, F_OK), 0);
    }
}

static void test_db_path(void **state)
{
    (void)state;
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    char buf[512];
    setenv("IOB_CACHE_DIR", "/c", 1);
    assert_int_equal(iob_tune_db_path(&m, 0, buf, sizeof buf, NULL), IOB_OK);
    assert_string_equal(buf, "/c/tune-h100-sxm.json");
    snprintf(m.name, sizeof m.name, "NVIDIA H100 80GB HBM3");
    assert_int_equal(iob_tune_db_path(&m, 1, buf, sizeof buf, NULL), IOB_OK);
    assert_string_equal(buf, "/c/tune-NVIDIA-H100-80GB-HBM3-sm90.json");
    snprintf(m.name, sizeof m.name, "a/../b: x");
    assert_int_equal(iob_tune_db_path(&m, 0, buf, sizeof buf, NULL), IOB_OK);
    assert_string_equal(buf, "/c/tune-a-..-b-x.json");
    unsetenv("IOB_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/x", 1);
    iob_machine_get("a100-sxm", &m, NULL);
    assert_int_equal(iob_tune_db_path(&m, 0, buf, sizeof buf, NULL), IOB_OK);
    assert_string_equal(buf, "/x/iobound/tune-a100-sxm.json");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/h", 1);
    assert_int_equal(iob_tune_db_path(&m, 0, buf, sizeof buf, NULL), IOB_OK);
    assert_string_equal(buf, "/h/.cache/iobound/tune-a100-sxm.json");
    unsetenv("HOME");
    iob_error err;
    assert_int_equal(iob_tune_db_path(&m, 0, buf, sizeof buf, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "IOB_CACHE_DIR"));
    setenv("IOB_CACHE_DIR", "/c", 1);
    assert_int_equal(iob_tune_db_path(&m, 0, buf, 10, &err), IOB_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_entries_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidation, setup, teardown),
        cmocka_unit_test(test_kernel_hash),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
        cmocka_unit_test(test_db_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
