/* test_output.c — output_write_all (output.c): all files or none, no
 * temporary files left behind.  Each test works in a fresh directory. */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[1024];   /* this test's directory */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[2048];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int out_setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nnc-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fx_teardown(state);
        return -1;
    }
    return 0;
}

static int out_teardown(void **state)
{
    remove_tree(dir);
    return fx_teardown(state);
}

#define OUT_TEST(f) cmocka_unit_test_setup_teardown(f, out_setup, out_teardown)

/* dir/name, in an arena-free static buffer (one per slot). */
static const char *in_dir(int slot, const char *name)
{
    static char paths[4][1200];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    return paths[slot];
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The file's whole contents, or NULL when it cannot be read; caller frees. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1024, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap * 2);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

static void expect_file(const char *path, const char *want)
{
    char *got = read_file(path);
    if (!got) {
        print_error("cannot read %s: %s\n", path, strerror(errno));
        fail();
    }
    bool same = strcmp(got, want) == 0;
    if (!same)
        print_error("%s holds \"%s\", expected \"%s\"\n", path, got, want);
    free(got);
    assert_true(same);
}

/* The directory holds exactly `names` (in any order): nothing else, so no
 * temporary file was left behind. */
static void expect_dir_entries(const char *const *names, int n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int seen = 0;
    bool unexpected = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        bool known = false;
        for (int i = 0; i < n; i++)
            known |= strcmp(e->d_name, names[i]) == 0;
        if (known) {
            seen++;
        } else {
            print_error("unexpected file in the output directory: %s\n", e->d_name);
            unexpected = true;
        }
    }
    closedir(d);
    assert_false(unexpected);
    assert_int_equal(seen, n);
}

static RtBuf text_buf(const char *s)
{
    RtBuf b = {0};
    rt_buf_puts(&b, s);
    return b;
}

static void output_writes_all_files(void **state)
{
    Fx *fx = *state;
    RtBuf c = text_buf("int x;\n"), h = text_buf("extern int x;\n");
    OutFile files[2] = {{in_dir(0, "net.c"), &c}, {in_dir(1, "net.h"), &h}};
    bool ok = output_write_all(files, 2, &fx->diag);
    rt_buf_free(&c);
    rt_buf_free(&h);
    assert_true(ok);
    assert_no_errors(fx);
    expect_file(in_dir(0, "net.c"), "int x;\n");
    expect_file(in_dir(1, "net.h"), "extern int x;\n");
    static const char *const names[] = {"net.c", "net.h"};
    expect_dir_entries(names, 2);
}

static void output_replaces_existing_targets(void **state)
{
    Fx *fx = *state;
    write_file(in_dir(0, "net.c"), "old c, longer than the new one\n");
    write_file(in_dir(1, "net.h"), "old h\n");
    RtBuf c = text_buf("new c\n"), h = text_buf("new h\n");
    OutFile files[2] = {{in_dir(0, "net.c"), &c}, {in_dir(1, "net.h"), &h}};
    bool ok = output_write_all(files, 2, &fx->diag);
    rt_buf_free(&c);
    rt_buf_free(&h);
    assert_true(ok);
    expect_file(in_dir(0, "net.c"), "new c\n");
    expect_file(in_dir(1, "net.h"), "new h\n");
}

static void output_empty_buffer_writes_empty_file(void **state)
{
    Fx *fx = *state;
    RtBuf empty = {0};   /* never written to: data is NULL */
    OutFile files[1] = {{in_dir(0, "empty.c"), &empty}};
    assert_true(output_write_all(files, 1, &fx->diag));
    expect_file(in_dir(0, "empty.c"), "");
}

static void output_file_mode_follows_umask(void **state)
{
    Fx *fx = *state;
    RtBuf c = text_buf("x\n");
    OutFile files[1] = {{in_dir(0, "mode.c"), &c}};
    mode_t old = umask(022);
    bool ok = output_write_all(files, 1, &fx->diag);
    umask(old);
    rt_buf_free(&c);
    assert_true(ok);
    struct stat st;
    assert_int_equal(stat(in_dir(0, "mode.c"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);   /* not mkstemp's 0600 */
}

static void output_missing_directory_leaves_targets_untouched(void **state)
{
    Fx *fx = *state;
    write_file(in_dir(0, "net.c"), "old c\n");
    write_file(in_dir(1, "net.h"), "old h\n");
    RtBuf c = text_buf("new c\n"), h = text_buf("new h\n");
    OutFile files[2] = {{in_dir(0, "net.c"), &c}, {in_dir(2, "missing/net.h"), &h}};
    bool ok = output_write_all(files, 2, &fx->diag);
    rt_buf_free(&c);
    rt_buf_free(&h);
    assert_false(ok);
    assert_errors(fx, 1);
    char want[1400];
    snprintf(want, sizeof want, "nnc: error: cannot create '%s': No such file or directory\n", in_dir(2, "missing/net.h"));
    assert_string_equal(fx_output(fx), want);
    expect_file(in_dir(0, "net.c"), "old c\n");
    expect_file(in_dir(1, "net.h"), "old h\n");
    static const char *const names[] = {"net.c", "net.h"};
    expect_dir_entries(names, 2);   /* the temporary of net.c is gone */
}

static void output_missing_directory_for_first_file_writes_nothing(void **state)
{
    Fx *fx = *state;
    RtBuf c = text_buf("new c\n"), h = text_buf("new h\n");
    OutFile files[2] = {{in_dir(0, "missing/net.c"), &c}, {in_dir(1, "net.h"), &h}};
    bool ok = output_write_all(files, 2, &fx->diag);
    rt_buf_free(&c);
    rt_buf_free(&h);
    assert_false(ok);
    assert_errors(fx, 1);
    expect_dir_entries(NULL, 0);
}

static void output_target_is_directory_changes_nothing(void **state)
{
    Fx *fx = *state;
    /* net.h cannot be written (a directory has its name): all or none means
     * net.c must keep its old contents too. */
    write_file(in_dir(0, "net.c"), "old c\n");
    assert_int_equal(mkdir(in_dir(1, "net.h"), 0777), 0);
    RtBuf c = text_buf("new c\n"), h = text_buf("new h\n");
    OutFile files[2] = {{in_dir(0, "net.c"), &c}, {in_dir(1, "net.h"), &h}};
    bool ok = output_write_all(files, 2, &fx->diag);
    rt_buf_free(&c);
    rt_buf_free(&h);
    assert_false(ok);
    assert_errors(fx, 1);
    static const char *const names[] = {"net.c", "net.h"};
    expect_dir_entries(names, 2);
    expect_file(in_dir(0, "net.c"), "old c\n");
}

UNIT_TESTS(output,
    OUT_TEST(output_writes_all_files),
    OUT_TEST(output_replaces_existing_targets),
    OUT_TEST(output_empty_buffer_writes_empty_file),
    OUT_TEST(output_file_mode_follows_umask),
    OUT_TEST(output_missing_directory_leaves_targets_untouched),
    OUT_TEST(output_missing_directory_for_first_file_writes_nothing),
    OUT_TEST(output_target_is_directory_changes_nothing))
