/* fuzz_common.h — helpers shared by the libFuzzer targets in fuzz/.
 *
 * The loaders take paths, so each target works in a private temporary
 * directory (made once per process under $TMPDIR, removed at exit) and
 * writes its input there before each call.  Everything nnc prints goes to a
 * /dev/null FILE; the sanitizers keep writing to the real stderr.
 *
 * A finding the sanitizers cannot see (a broken invariant, such as "the
 * front end accepted the program but the emitted C does not compile") is
 * reported with fuzz_bug(), which prints the reason and aborts, so libFuzzer
 * saves the input as a crash. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_dir[4096];

/* The real standard error (fd 2), even while a target has pointed glibc's
 * `stderr` elsewhere. */
static inline FILE *fuzz_err(void)
{
    static FILE *err;
    if (!err) {
        int fd = dup(2);
        err = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!err)
            abort();
        setvbuf(err, NULL, _IONBF, 0);
    }
    return err;
}

static inline void fuzz_bug(const char *fmt, ...)
{
    va_list ap;
    fputs("\n==FUZZ== invariant broken: ", fuzz_err());
    va_start(ap, fmt);
    vfprintf(fuzz_err(), fmt, ap);
    va_end(ap);
    fputs("\n", fuzz_err());
    abort();
}

/* A FILE that swallows output (nnc's diagnostics and REPL transcript). */
static inline FILE *fuzz_null(void)
{
    static FILE *null;
    if (!null && !(null = fopen("/dev/null", "w")))
        fuzz_bug("cannot open /dev/null");
    return null;
}

/* Removes every entry of fuzz_dir but those named in keep (NULL-ended). */
static inline void fuzz_clean_dir(const char *const *keep)
{
    DIR *d = opendir(fuzz_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int kept = 0;
        for (int i = 0; keep && keep[i]; i++)
            kept |= strcmp(e->d_name, keep[i]) == 0;
        if (kept)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        if (unlink(path) != 0 && errno == EISDIR)
            rmdir(path);
    }
    closedir(d);
}

static inline void fuzz_remove_dir(void)
{
    if (!fuzz_dir[0])
        return;
    fuzz_clean_dir(NULL);
    rmdir(fuzz_dir);
}

/* Makes the private directory; `tag` names it ("nnc-fuzz-csv-XXXXXX"). */
static inline void fuzz_make_dir(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/nnc-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (!mkdtemp(fuzz_dir))
        fuzz_bug("cannot make a temporary directory %s: %s", fuzz_dir, strerror(errno));
    atexit(fuzz_remove_dir);
}

/* fuzz_dir/name, in a static buffer per slot (0..3). */
static inline const char *fuzz_path(int slot, const char *name)
{
    static char paths[4][8192];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir, name);
    return paths[slot];
}

/* Writes data[0..size) to path (whole file, replaced). */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        fuzz_bug("cannot write %s: %s", path, strerror(errno));
}

/* A pipe holding data[0..n), its write end closed: the read end's fd, its
 * name ("/dev/fd/N") in path; -1 when the data does not fit the pipe. */
static inline int fuzz_pipe_with(const uint8_t *data, size_t n, char *path, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        fuzz_bug("pipe: %s", strerror(errno));
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fds[1], data + done, n - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fds[1]);
    if (done < n) {
        close(fds[0]);
        return -1;
    }
    snprintf(path, size, "/dev/fd/%d", fds[0]);
    return fds[0];
}

/* The little-endian 64-bit number at p (weight and checkpoint headers). */
static inline uint64_t fuzz_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
