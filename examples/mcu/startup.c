/* startup.c — what runs before main on a Cortex-M4F: the vector table (the
 * initial stack pointer and the handlers, at address 0), the reset handler
 * (FPU on, .data copied from flash, .bss zeroed, then main; its status goes
 * to exit, which ends the emulation with it) and a handler for every other
 * exception that says which one came and fails. */
#include <stdint.h>
#include <stdlib.h>

#include "semihosting.h"

int main(void);
void reset_handler(void);
void fault_handler(void);

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];   /* an386.ld */
extern char _stack_top[];

#define CPACR (*(volatile uint32_t *)0xE000ED88u)   /* Coprocessor Access Control Register */

void reset_handler(void)
{
    /* Full access to coprocessors 10 and 11, the FPU, before any float
     * instruction (the compiler may use its registers anywhere). */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    exit(main());
}

/* Any other exception (a hard fault, a bus fault, ...) ends the run with
 * its number (IPSR) and a failure, rather than hanging until the time-out. */
void fault_handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    char msg[] = "firmware: exception 000 (3: hard fault, 4-6: memory, bus, usage fault)\n";
    msg[20] = (char)('0' + ipsr / 100 % 10);
    msg[21] = (char)('0' + ipsr / 10 % 10);
    msg[22] = (char)('0' + ipsr % 10);
    semihosting_write0(msg);
    semihosting_exit(1);
}

/* The first word is the initial stack pointer, the others handlers: the 15
 * system exceptions of the Armv7-M architecture, then the AN386's 32
 * interrupts (none is enabled). */
typedef union Vector {
    void (*handler)(void);
    void *stack;
} Vector;
#define F {fault_handler}
#define F8 F, F, F, F, F, F, F, F
__attribute__((section(".vectors"), used)) static const Vector vectors[16 + 32] = {
    {.stack = _stack_top}, {reset_handler},
    F, F, F, F, F, F, F, F, F, F, F, F, F, F,   /* NMI .. SysTick */
    F8, F8, F8, F8,                              /* IRQ 0 .. 31 */
};
