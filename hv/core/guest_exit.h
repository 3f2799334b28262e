#ifndef HV_GUEST_EXIT_H
#define HV_GUEST_EXIT_H
#include "core/types.h"
#include "core/vcpu.h"

/* The guest wrote `value` (`size` bytes) to an I/O port the hypervisor
 * intercepts (arch_io_intercept): today only isa-debug-exit, for a multiboot
 * guest, which ends the machine with the guest's own code. */
void guest_io_write(struct vcpu *v, u16 port, u32 value, u32 size);
#endif
