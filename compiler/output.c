/* output.c — writing the compiler's files so that nothing a user saved is
 * ever half-written.
 *
 * Each file goes to a temporary file beside its target, flushed to disk,
 * and only then renamed over it (the runtime's RtTempFile steps, which
 * weight files use too).  When several files belong together (net.c and
 * net.h), all are written before any is renamed, and on any failure every
 * temporary file is removed and the targets are left as they were.  Ctrl-C,
 * SIGTERM or SIGHUP meanwhile (a big network's files take a while to reach
 * the disk) removes them too before the process ends as the signal says. */
#include "nnc.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_OUT_FILES = 4 };

/* The temporary files a signal must remove: set before the handler is. */
static const char *volatile pending[MAX_OUT_FILES];

static void remove_pending(int sig)
{
    for (int i = 0; i < MAX_OUT_FILES; i++)
        if (pending[i])
            unlink(pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_FATAL = sizeof fatal_signals / sizeof fatal_signals[0] };

/* Catches the signals whose default would end the process (a caller that
 * handles one, like the REPL, keeps its own); old[] gets what to put back. */
static void catch_fatal_signals(struct sigaction old[N_FATAL], bool caught[N_FATAL])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_pending;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < N_FATAL; k++) {
        caught[k] = sigaction(fatal_signals[k], NULL, &old[k]) == 0 && old[k].sa_handler == SIG_DFL &&
                    sigaction(fatal_signals[k], &sa, NULL) == 0;
    }
}

static void release_fatal_signals(const struct sigaction old[N_FATAL], const bool caught[N_FATAL])
{
    for (int k = 0; k < N_FATAL; k++)
        if (caught[k])
            sigaction(fatal_signals[k], &old[k], NULL);
    for (int i = 0; i < MAX_OUT_FILES; i++)
        pending[i] = NULL;
}

static bool write_temp(const OutFile *f, RtTempFile *t, const char *volatile *slot, Diag *diag)
{
    if (!rt_temp_open(t, f->path)) {
        diag_plain(diag, DIAG_ERROR, "cannot create '%s': %s", f->path, strerror(errno));
        return false;
    }
    *slot = t->tmp;
    const char *what;
    if (!rt_write_all(t->fd, f->content->data ? f->content->data : "", f->content->len)) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", f->path, errno == ENOSPC ? "disk full" : strerror(errno));
        return false;
    }
    if (!rt_temp_finish(t, &what)) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s: %s", f->path, what, strerror(errno));
        return false;
    }
    return true;
}

bool output_write_all(const OutFile *files, int n, Diag *diag)
{
    RtTempFile tmp[MAX_OUT_FILES];
    if (n > MAX_OUT_FILES) {
        diag_plain(diag, DIAG_ERROR, "internal error: at most %d files can be written together", MAX_OUT_FILES);
        return false;
    }
    /* A target that is a directory would fail its rename after the others
     * had replaced theirs: refuse before writing anything. */
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i].path, &st) == 0 && S_ISDIR(st.st_mode)) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': it is a directory", files[i].path);
            return false;
        }
    }
    bool ok = true;
    int made = 0;   /* tmp[0, made) are set up */
    struct sigaction old[N_FATAL];
    bool caught[N_FATAL];
    catch_fatal_signals(old, caught);
    for (int i = 0; ok && i < n; i++) {
        made = i + 1;
        ok = write_temp(&files[i], &tmp[i], &pending[i], diag);
    }
    /* Renames come last and one after another: a failure here can only be
     * the directory vanishing or losing write permission mid-way. */
    for (int i = 0; ok && i < n; i++)
        if (!rt_temp_commit(&tmp[i])) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", files[i].path, strerror(errno));
            ok = false;
        }
    for (int i = 0; i < made; i++) {
        pending[i] = NULL;   /* before the name's memory is freed */
        rt_temp_discard(&tmp[i]);   /* after a commit: nothing left to remove */
    }
    release_fatal_signals(old, caught);
    return ok;
}
