/* test_report.c — writes the pictures tests/report/run.sh inspects, and
 * checks the errors of runtime/report.c itself.
 *   test_report DIR     writes SVG and PGM files into DIR; prints one
 *                       "ok report NAME" / "FAIL report NAME" line per check */
#include "nnc_rt.h"

#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int failures;

static void result(bool ok, const char *name, const char *detail)
{
    printf("%s report %s\n", ok ? "ok" : "FAIL", name);
    if (!ok) {
        failures++;
        if (detail && *detail)
            printf("    %s\n", detail);
    }
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(1);
    }
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Writes DIR/FILE with rt_plot_svg; the check is named after FILE. */
static void svg(const char *dir, const char *file, const RtEpoch *e, int n, const char *title)
{
    char *path = join(dir, file);
    RtError err = {""};
    char name[128];
    snprintf(name, sizeof name, "writes %s", file);
    result(rt_plot_svg(path, e, n, title, &err), name, err.msg);
    free(path);
}

/* A classifier's epochs: falling loss, rising accuracy, a test set. */
static void classifier(RtEpoch *e, int n, bool test)
{
    for (int i = 0; i < n; i++) {
        double t = (double)i / (n > 1 ? n - 1 : 1);
        memset(&e[i], 0, sizeof e[i]);
        e[i].epoch = i + 1;
        e[i].loss = 1.8 * exp(-3.5 * t) + 0.25;
        e[i].train = (RtEval){e[i].loss * 0.95, 0.55 + 0.4 * (1 - exp(-4 * t)), 60000};
        if (test)
            e[i].test = (RtEval){0.35 + 1.6 * exp(-3 * t) + 0.12 * t * t, 0.52 + 0.36 * (1 - exp(-4 * t)), 10000};
        else
            e[i].test = (RtEval){0, -1, 0};
    }
}

/* Whether `dir` holds a file whose name contains ".tmp.". */
static bool temp_left(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    if (!d)
        return false;
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (strstr(ent->d_name, ".tmp."))
            found = true;
    closedir(d);
    return found;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The call failed, and its message contains each of the `want` strings. */
static void expect_error(const char *name, bool returned, const RtError *err, const char *want1, const char *want2)
{
    char detail[1400];
    bool ok = !returned && strstr(err->msg, want1) && (!want2 || strstr(err->msg, want2));
    snprintf(detail, sizeof detail, "returned %s, message: '%s' (wanted '%s'%s%s)", returned ? "true" : "false",
             err->msg, want1, want2 ? " and '" : "", want2 ? want2 : "");
    result(ok, name, detail);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_report DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    enum { N = 30 };
    RtEpoch e[N];

    /* ---- charts ---- */
    classifier(e, N, true);
    svg(dir, "chart.svg", e, N, "fashion_cnn <adam> & \"friends\"");

    classifier(e, 20, true);
    for (int i = 0; i < 20; i++)            /* a step schedule: 0.1, then 0.01 from epoch 11 */
        e[i].lr = i < 10 ? 0.1 : 0.01;
    svg(dir, "lr.svg", e, 20, "with a schedule");
    for (int i = 0; i < N; i++)
        e[i].lr = 0;

    classifier(e, 1, true);
    svg(dir, "one.svg", e, 1, "one epoch");

    classifier(e, 12, true);
    e[4].loss = NAN;                        /* a NaN and an inf in the training loss */
    e[5].loss = INFINITY;
    e[8].test.loss = -INFINITY;
    e[10].diverged = true;
    e[10].loss = NAN;
    e[10].train.accuracy = NAN;
    svg(dir, "nan.svg", e, 12, "with NaN");

    classifier(e, 20, false);
    for (int i = 0; i < 20; i++)
        e[i].train.accuracy = -1;           /* a regressor */
    svg(dir, "regressor.svg", e, 20, "sine regressor");

    classifier(e, 10, true);
    for (int i = 0; i < 10; i++) {          /* constant series */
        e[i].loss = 0.5;
        e[i].test.loss = 0.5;
        e[i].train.accuracy = 1;
        e[i].test.accuracy = 1;
    }
    svg(dir, "constant.svg", e, 10, "constant");

    {
        enum { LONG = 2000 };
        RtEpoch *l = malloc(LONG * sizeof *l);
        if (!l)
            return 1;
        classifier(l, LONG, false);
        svg(dir, "long.svg", l, LONG, NULL);
        free(l);
    }

    {
        /* 100000 epochs, noisy, with a NaN gap: thinned to the pixel columns.
         * The title is too long for the heading. */
        enum { HUGE = 100000 };
        RtEpoch *l = malloc(HUGE * sizeof *l);
        if (!l)
            return 1;
        classifier(l, HUGE, true);
        for (int i = 0; i < HUGE; i++) {
            l[i].loss += 0.05 * sin(i * 0.7);
            l[i].test.accuracy += 0.01 * cos(i * 1.3);
        }
        for (int i = 50000; i < 50010; i++)
            l[i].loss = NAN;
        char title[200];
        memset(title, 'x', sizeof title - 1);
        title[sizeof title - 1] = '\0';
        svg(dir, "huge.svg", l, HUGE, title);
        free(l);
    }

    classifier(e, 8, true);
    for (int i = 0; i < 8; i++) {
        e[i].loss = NAN;
        e[i].test.loss = NAN;
    }
    svg(dir, "allnan.svg", e, 8, "diverged at once");

    /* Under a locale with a decimal comma, the numbers keep their '.'. */
    classifier(e, N, true);
    const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", "fr_FR"};
    const char *chosen = NULL;
    for (size_t i = 0; !chosen && i < sizeof locales / sizeof *locales; i++)
        if (setlocale(LC_NUMERIC, locales[i]) && strcmp(localeconv()->decimal_point, ".") != 0)
            chosen = locales[i];
    if (chosen) {
        svg(dir, "locale.svg", e, N, "decimal comma locale");
        setlocale(LC_NUMERIC, "C");
        printf("# locale.svg written under %s\n", chosen);
    } else {
        setlocale(LC_NUMERIC, "C");
        svg(dir, "locale.svg", e, N, "decimal comma locale (none installed)");
        printf("# no locale with a decimal comma is installed; locale.svg written under C\n");
    }

    result(!temp_left(dir), "no temporary files left behind", "a *.tmp.* file remains");

    /* ---- image grids ---- */
    {
        /* Three 2x2 images in 2 columns: a 5x5 grid. */
        float img[12] = {0, 1, 1, 0,                  /* a checker */
                         0.5f, -3, 7, NAN,            /* clamped, NaN black */
                         1, 1, 1, 1};
        char *path = join(dir, "grid.pgm");
        RtError err = {""};
        result(rt_write_pgm_grid(path, img, 3, 2, 2, 2, &err), "writes grid.pgm", err.msg);
        free(path);
    }
    {
        /* 10 gradient images of 28x28, 4 columns: what a sample of
         * Fashion-MNIST looks like, for viewing. */
        enum { H = 28, W = 28, K = 10 };
        float *img = malloc(sizeof(float) * H * W * K);
        if (!img)
            return 1;
        for (int k = 0; k < K; k++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double dx = x - 13.5, dy = y - 13.5, r = sqrt(dx * dx + dy * dy);
                    img[(k * H + y) * W + x] = (float)(r < 4 + k ? 1.0 - r / (4.0 + k) : 0.0);
                }
        char *path = join(dir, "samples.pgm");
        RtError err = {""};
        result(rt_write_pgm_grid(path, img, K, H, W, 4, &err), "writes samples.pgm", err.msg);
        free(path);
        /* more columns than images: one row */
        path = join(dir, "row.pgm");
        result(rt_write_pgm_grid(path, img, 3, H, W, 10, &err), "writes row.pgm (cols > n)", err.msg);
        free(path);
        free(img);
    }

    /* ---- errors ---- */
    {
        RtError err = {""};
        classifier(e, 5, true);
        float px[4] = {0, 1, 1, 0};
        const char *bad = "/nonexistent-dir-nnc/chart.svg";
        expect_error("svg unwritable path", rt_plot_svg(bad, e, 5, "x", &err), &err, bad, "No such file");
        expect_error("pgm unwritable path", rt_write_pgm_grid("/nonexistent-dir-nnc/g.pgm", px, 1, 2, 2, 1, &err),
                     &err, "/nonexistent-dir-nnc/g.pgm", "No such file");
        char *path = join(dir, "n0.svg");
        expect_error("svg n=0", rt_plot_svg(path, e, 0, "x", &err), &err, path, "no epochs");
        result(!exists(path), "svg n=0 writes nothing", path);
        free(path);
        path = join(dir, "n0.pgm");
        expect_error("pgm n=0", rt_write_pgm_grid(path, px, 0, 2, 2, 1, &err), &err, path, "no images");
        expect_error("pgm n<0", rt_write_pgm_grid(path, px, -3, 2, 2, 1, &err), &err, path, "no images");
        expect_error("pgm h=0", rt_write_pgm_grid(path, px, 1, 0, 2, 1, &err), &err, path, "invalid image size");
        expect_error("pgm cols=0", rt_write_pgm_grid(path, px, 1, 2, 2, 0, &err), &err, path, "column");
        expect_error("pgm NULL pixels", rt_write_pgm_grid(path, NULL, 1, 2, 2, 1, &err), &err, path, "no pixels");
        /* Sizes whose products overflow 32 and 64 bits are refused before
         * any allocation or read of the (small) pixel array. */
        expect_error("pgm huge image", rt_write_pgm_grid(path, px, 1, 2000000000, 2000000000, 1, &err), &err, path,
                     "limit");
        expect_error("pgm huge grid", rt_write_pgm_grid(path, px, 2000000000, 1000, 1000, 2000000000, &err), &err,
                     path, "limit");
        expect_error("pgm huge n", rt_write_pgm_grid(path, px, 2147483647, 64, 64, 1, &err), &err, path, "limit");
        result(!exists(path), "pgm errors write nothing", path);
        free(path);
        expect_error("svg directory path", rt_plot_svg(dir, e, 5, "x", &err), &err, dir, "directory");
        expect_error("svg empty path", rt_plot_svg("", e, 5, "x", &err), &err, "no file name", NULL);
        expect_error("svg NULL epochs", rt_plot_svg("x.svg", NULL, 5, "x", &err), &err, "x.svg", NULL);
        /* A failed write leaves the previous file as it was. */
        path = join(dir, "chart.svg");
        struct stat before, after;
        bool had = stat(path, &before) == 0;
        (void)rt_plot_svg(path, e, 0, "x", &err);
        result(had && stat(path, &after) == 0 && after.st_size == before.st_size, "failed write keeps the old file",
               path);
        free(path);
    }
    result(!temp_left(dir), "no temporary files left behind after errors", "a *.tmp.* file remains");
    return failures ? 1 : 0;
}
