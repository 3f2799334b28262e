/* Entry points called by the arch vector stubs. */
#ifndef GUEST_NMI_H
#define GUEST_NMI_H

#include <stdint.h>
#include "arch.h"

/* Vector 2.  Returns the in_nmi flag the stub must clear just before IRET,
 * or 0 when returning into an outer NMI handler. */
volatile uint32_t *guest_nmi(struct guest_frame *f);

/* Every other vector (0..31). */
void guest_exception(struct guest_frame *f);

#endif
