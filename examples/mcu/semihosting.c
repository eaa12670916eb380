/* semihosting.c — Arm semihosting calls (a BKPT 0xAB with the operation in
 * r0 and its argument in r1; the host carries it out), and on them the
 * system calls newlib's stdio and exit() need: stdout and stderr go to the
 * host's console, the heap grows between the .bss and the stack.  On a
 * board without a debugger, replace _write with a UART driver. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "semihosting.h"

enum {                           /* operations (Arm's "Semihosting for AArch32 and AArch64") */
    SYS_OPEN = 0x01,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_EXIT = 0x18,             /* angel_SWIReason_ReportException */
};
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u   /* SYS_EXIT's reasons */
#define ADP_STOPPED_RUN_TIME_ERROR   0x20023u

static int semihost(int op, uintptr_t arg)
{
    register int r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihosting_write0(const char *s)
{
    semihost(SYS_WRITE0, (uintptr_t)s);
}

void semihosting_exit(int status)
{
    /* On AArch32 the reason is the argument itself, and QEMU turns it into
     * its exit status: 0 for an application exit, 1 for anything else. */
    semihost(SYS_EXIT, status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR);
    for (;;) {   /* a host that ignores SYS_EXIT */
    }
}

/* The host's handle of its console, opened as the special file ":tt" (mode
 * 4, "w", is standard output; 8, "a", standard error); -1 if it fails. */
static int console(int fd)
{
    static int handle[3] = {-1, -1, -1};
    if (handle[fd] < 0) {
        uintptr_t args[3] = {(uintptr_t)":tt", fd == 2 ? 8 : 4, 3};
        handle[fd] = semihost(SYS_OPEN, (uintptr_t)args);
    }
    return handle[fd];
}

/* ---- newlib's system calls ---- */
int _write(int fd, const char *buf, int len);
int _read(int fd, char *buf, int len);
int _close(int fd);
int _lseek(int fd, int offset, int whence);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
void *_sbrk(int incr);
void _exit(int status);
int _kill(int pid, int sig);
int _getpid(void);

int _write(int fd, const char *buf, int len)
{
    int h = fd == 1 || fd == 2 ? console(fd) : -1;
    if (h < 0) {
        errno = EBADF;
        return -1;
    }
    uintptr_t args[3] = {(uintptr_t)h, (uintptr_t)buf, (uintptr_t)len};
    int left = semihost(SYS_WRITE, (uintptr_t)args);   /* bytes not written */
    if (left < 0 || left > len) {
        errno = EIO;
        return -1;
    }
    return len - left;
}

int _read(int fd, char *buf, int len)
{
    (void)fd, (void)buf, (void)len;
    return 0;   /* no input: end of file */
}

int _close(int fd)
{
    (void)fd;
    return 0;
}

int _lseek(int fd, int offset, int whence)
{
    (void)fd, (void)offset, (void)whence;
    errno = ESPIPE;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;   /* a terminal: stdout is line-buffered */
    return 0;
}

int _isatty(int fd)
{
    return fd >= 0 && fd <= 2;
}

void *_sbrk(int incr)
{
    extern char _heap_start[], _stack_limit[];   /* an386.ld */
    static char *brk = _heap_start;
    if (incr > _stack_limit - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *old = brk;
    brk += incr;
    return old;
}

void _exit(int status)
{
    semihosting_exit(status);
}

int _kill(int pid, int sig)
{
    (void)pid, (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}
