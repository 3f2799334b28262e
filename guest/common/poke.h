/* A single store that may be refused by the hypervisor with a #GP. */
#ifndef GUEST_POKE_H
#define GUEST_POKE_H

#include <stdint.h>

/* Store value at addr; returns 0 if the store retired, 1 if the #GP handler
 * redirected the faulting store to guest_poke_recover. */
int guest_poke(volatile uint32_t *addr, uint32_t value);

/* Load from addr; *faulted = 1 (and 0 returned) if the #GP handler
 * redirected the faulting load to guest_peek_recover. */
uint32_t guest_peek(const volatile uint32_t *addr, uint32_t *faulted);

/* Labels in poke.S of each arch: the access instruction and the resume point. */
extern const char guest_poke_insn[];
extern const char guest_poke_recover[];
extern const char guest_peek_insn[];
extern const char guest_peek_recover[];

#endif
