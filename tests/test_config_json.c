/* test_config_json.c - the JSON form of a config: every key, the nested form `iobound dataflow`
 * writes, round trips through the text form, and bad input rejected with the key named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/dataflow.h"

static void test_object_and_nested(void **state)
{
    (void)state;
    iob_config a, b;
    iob_error err;
    assert_int_equal(iob_config_parse_json("{\"algo\": \"direct\", \"tile_k\": 64, \"tile_p\": 8, "
                                           "\"tile_q\": \"16\", \"micro_k\": 8, \"stages\": 3}",
                                           &a, &err),
                     IOB_OK);
    assert_int_equal(a.algo, IOB_ALGO_DIRECT);
    assert_int_equal(a.tile_k, 64);
    assert_int_equal(a.tile_q, 16);
    assert_int_equal(a.stages, 3);
    assert_int_equal(a.split_c, 1); /* default */
    assert_int_equal(a.tile_c, 0);
    /* the entry of `iobound dataflow --format json` */
    assert_int_equal(iob_config_parse_json("{\"config\": {\"tile_p\": 8, \"algo\": \"direct\", "
                                           "\"tile_k\": 64, \"tile_q\": 16, \"micro_k\": 8, "
                                           "\"stages\": 3}, \"ratio_to_bound\": 2.5}",
                                           &b, &err),
                     IOB_OK);
    assert_true(iob_config_equal(&a, &b));
    /* JSON -> text -> config */
    char text[256];
    iob_config_format(&a, text, sizeof text);
    assert_int_equal(iob_config_parse(text, &b, &err), IOB_OK);
    assert_true(iob_config_equal(&a, &b));
    assert_int_equal(iob_config_parse_json("{\"algo\": \"winograd\", \"wino_m\": 4}", &b, &err),
                     IOB_OK);
    assert_int_equal(b.algo, IOB_ALGO_WINOGRAD);
    assert_int_equal(b.wino_m, 4);
}

static void expect_bad(const char *json, const char *what)
{
    iob_config c;
    iob_error err = {0};
    assert_int_equal(iob_config_parse_json(json, &c, &err), IOB_EINVAL);
    if (!strstr(err.msg, what))
        fail_msg("'%s' gave '%s', expected '%s'", json, err.msg, what);
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_bad("{\"algo\": \"direct\", \"tile_k\": 6.5}", "tile_k");
    expect_bad("{\"algo\": \"direct\", \"tile_z\": 4}", "unknown config key 'tile_z'");
    expect_bad("{\"algo\": \"direct\", \"tile_k\": -4}", "tile_k=-4");
    expect_bad("{\"algo\": \"direct\", \"tile_k\": [4]}", "tile_k");
    expect_bad("{\"tile_k\": 4}", "no \"algo\" key");
    expect_bad("{\"algo\": \"fft\"}", "fft");
    expect_bad("[1, 2]", "must be an object");
    expect_bad("{\"algo\": \"direct\",", "not valid JSON");
    expect_bad("", "not valid JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_and_nested),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
