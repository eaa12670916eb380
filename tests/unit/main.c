/* main.c — runs the unit test groups.
 *
 *   unit             run every test
 *   unit --list      print the test names, one a line (run.sh expects these)
 *   unit PATTERN     run the tests whose name matches (cmocka's filter, * and ?)
 */
#include "unit.h"

#include <string.h>

static const UnitGroup groups[] = {
    {"arena", arena_tests, &arena_count},
    {"buf", buf_tests, &buf_count},
    {"diag", diag_tests, &diag_count},
    {"parse", parse_tests, &parse_count},
    {"check", check_tests, &check_count},
    {"lower", lower_tests, &lower_count},
    {"output", output_tests, &output_count},
};

int main(int argc, char **argv)
{
    size_t n_groups = sizeof groups / sizeof groups[0];
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t g = 0; g < n_groups; g++)
            for (size_t i = 0; i < *groups[g].count; i++)
                printf("%s\n", groups[g].tests[i].name);
        return 0;
    }
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    int failed = 0;
    for (size_t g = 0; g < n_groups; g++)
        failed += _cmocka_run_group_tests(groups[g].name, groups[g].tests, *groups[g].count, NULL, NULL);
    return failed ? 1 : 0;
}
