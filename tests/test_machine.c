/* test_machine.c - the machine presets' L2 partitions and the L2 capacity shared by all of them
 * (model/machine.c), and a machine built by hand (partitions left 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "iobound/machine.h"

#define MiB (1024LL * 1024LL)

static iob_machine get(const char *name)
{
    iob_machine m;
    iob_error err = {0};
    if (iob_machine_get(name, &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

static void test_presets_l2_shared(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int partitions;
        int64_t total, shared;
    } want[] = {
        {"h100-sxm", 2, 50 * MiB, 25 * MiB},
        {"h200", 2, 60 * MiB, 30 * MiB},
        {"a100-sxm", 2, 40 * MiB, 20 * MiB},
        {"v100", 1, 6 * MiB, 6 * MiB},
    };
    assert_int_equal(iob_machine_preset_count(), 4);
    for (int i = 0; i < 4; i++) {
        iob_machine m = get(want[i].name);
        assert_int_equal(m.l2_partitions, want[i].partitions);
        assert_int_equal(m.l2_bytes, want[i].total);
        assert_int_equal(iob_machine_l2_shared_bytes(&m), want[i].shared);
    }
}

/* --l2 overrides the total; the shared capacity follows. A machine with no partition count
 * (a zeroed struct) has one L2. */
static void test_l2_shared_follows_total(void **state)
{
    (void)state;
    iob_machine m = get("h100-sxm");
    m.l2_bytes = 100 * MiB;
    assert_int_equal(iob_machine_l2_shared_bytes(&m), 50 * MiB);
    m.l2_bytes = 7; /* odd: rounds down */
    assert_int_equal(iob_machine_l2_shared_bytes(&m), 3);
    iob_machine z = {0};
    z.l2_bytes = 4 * MiB;
    assert_int_equal(iob_machine_l2_shared_bytes(&z), 4 * MiB);
    z.l2_partitions = -1;
    assert_int_equal(iob_machine_l2_shared_bytes(&z), 4 * MiB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_l2_shared),
        cmocka_unit_test(test_l2_shared_follows_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
