/* semihosting.h — the board's only I/O: Arm semihosting, which QEMU (and a
 * debug probe) serves on the host.  semihosting.c also gives newlib the
 * system calls printf and exit need on top of it. */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

/* Writes a NUL-terminated string to the host's console, without stdio
 * (for the fault handler, when stdio's state is not to be trusted). */
void semihosting_write0(const char *s);
/* Ends the program: QEMU exits with status 0 when `status` is 0, else 1. */
void semihosting_exit(int status) __attribute__((noreturn));

#endif
