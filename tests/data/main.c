/* main.c — runs the tests of runtime/data.c.
 *
 *   data             run every test, in a fresh temporary directory
 *   data --list      print the test names, one a line (run.sh expects these)
 *   data PATTERN     run the tests whose name matches (cmocka's filter, * and ?)
 */
#include "data_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Group {
    const char *name;
    const struct CMUnitTest *tests;
    const size_t *count;
} Group;

static const Group groups[] = {
    {"csv", csv_tests, &csv_count},
    {"idx", idx_tests, &idx_count},
    {"fuzz", fuzz_tests, &fuzz_count},
    {"stream", stream_tests, &stream_count},
};

/* Removes the (flat) directory `dir`. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(dir) + strlen(e->d_name) + 2;
            char *p = malloc(n);
            if (p) {
                snprintf(p, n, "%s/%s", dir, e->d_name);
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

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

    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/nnc-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    if (chdir(dir) != 0) {
        perror(dir);
        return 2;
    }
    int failed = 0;
    for (size_t g = 0; g < n_groups; g++)
        failed += _cmocka_run_group_tests(groups[g].name, groups[g].tests, *groups[g].count, NULL, NULL);
    if (chdir("/") == 0)
        remove_dir(dir);
    return failed ? 1 : 0;
}
