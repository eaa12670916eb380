/* cmd_cache.c — `nnc cache`: where the cc backend keeps its shared
 * objects, what the folder holds and for which target, and `nnc cache
 * clear`, which removes nnc's files from it and nothing else (jit.c knows
 * their names: jit_cache_file). */
#include "nnc.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char cache_usage[] =
    "usage: nnc cache          show the --jit=cc cache: its folder, what it holds, and\n"
    "                          what -march=native means on this machine\n"
    "       nnc cache clear    remove nnc's files from it (KEY.so, KEY.c and the\n"
    "                          temporary files of builds), nothing else\n"
    "\n"
    "The folder is $XDG_CACHE_HOME/nnc, else $HOME/.cache/nnc.  An object's name\n"
    "(KEY) is a hash of the network's C, the compiler ($CC, else cc), its flags\n"
    "and this machine's target, so machines that share the folder (a home on\n"
    "NFS) share objects only where the compiler and the CPU agree.\n";

/* The files of each JitCacheFile kind, and their bytes. */
typedef struct CacheTally {
    long long files[4], bytes[4];
} CacheTally;

/* Counts the entries of folder `dir` by kind into *t (anything but a
 * regular file is no file of nnc's), removing nnc's files if `clear`.  A
 * missing folder is an empty one; false (said on diag) when the folder
 * cannot be read or a file cannot be removed. */
static bool scan(const char *dir, bool clear, CacheTally *t, Diag *diag)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return true;
        diag_plain(diag, DIAG_ERROR, "cannot read the cache folder '%s': %s", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;   /* (gone meanwhile: a build renamed it) */
        JitCacheFile k = S_ISREG(st.st_mode) ? jit_cache_file(e->d_name) : JIT_CACHE_OTHER;
        if (clear && k != JIT_CACHE_OTHER && unlink(path) != 0 && errno != ENOENT) {
            diag_plain(diag, DIAG_ERROR, "cannot remove '%s': %s", path, strerror(errno));
            ok = false;
            continue;
        }
        t->files[k]++;
        t->bytes[k] += (long long)st.st_size;
    }
    closedir(d);
    return ok;
}

static int usage(const char *fmt, const char *arg)
{
    fputs("nnc cache: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'nnc cache --help' for more information.\n", stderr);
    return 2;
}

int cmd_cache(int argc, char **argv)
{
    bool clear = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(cache_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "clear") != 0)
            return usage(argv[i][0] == '-' ? "unknown option '%s'" : "unknown action '%s'; expected 'clear' (or "
                         "nothing, to show the cache)", argv[i]);
        if (clear)
            return usage("'clear' is given twice%s", "");
        clear = true;
    }
    Diag diag;
    diag_init(&diag, stderr);
    char dir[3072];
    CacheTally t = {{0}, {0}};
    if (!jit_cache_dir(dir, sizeof dir, false, &diag))
        return 1;
    bool ok = scan(dir, clear, &t, &diag);
    long long nnc_bytes = t.bytes[JIT_CACHE_OBJECT] + t.bytes[JIT_CACHE_SOURCE] + t.bytes[JIT_CACHE_TEMP];
    if (clear) {
        printf("removed %lld .so, %lld .c and %lld .tmp files (%lld bytes) from %s\n", t.files[JIT_CACHE_OBJECT],
               t.files[JIT_CACHE_SOURCE], t.files[JIT_CACHE_TEMP], nnc_bytes, dir);
    } else {
        uint64_t target;
        const char *summary = jit_cc_target(&target);
        struct stat st;
        printf("folder:           %s%s\n", dir, stat(dir, &st) != 0 ? " (not made yet)" : "");
        printf("objects (.so):    %lld\n", t.files[JIT_CACHE_OBJECT]);
        printf("sources (.c):     %lld\n", t.files[JIT_CACHE_SOURCE]);
        printf("temporary files:  %lld (builds unfinished or under way)\n", t.files[JIT_CACHE_TEMP]);
        printf("bytes:            %lld\n", nnc_bytes);
        printf("-march=native:    %s\n", summary);
        printf("target hash:      %016llx (a part of every key)\n", (unsigned long long)target);
    }
    if (t.files[JIT_CACHE_OTHER])
        printf("other files:      %lld, not nnc's (nnc cache clear leaves them)\n", t.files[JIT_CACHE_OTHER]);
    return ok ? 0 : 1;
}
