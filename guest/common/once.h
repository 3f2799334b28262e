/* Run an initialisation exactly once while every CPU starts at the same entry. */
#ifndef GUEST_ONCE_H
#define GUEST_ONCE_H

#include <stdint.h>

/* *state: 0 = not started, 1 = running, 2 = done.  The first caller runs
 * fn; the others spin until it has finished, so nobody uses half-built
 * tables.  state must start at 0 (BSS, zeroed before any C runs). */
void run_once(volatile uint32_t *state, void (*fn)(void));

#endif
