/*
 * The hypercall instruction for the Linux guest's programs (defs/hypercalls.toml:
 * number in RAX, arguments in RBX, RCX, RDX, result in RAX).  From a process
 * the call runs at CPL 3: only the calls the table marks `user` are served,
 * the others return HC_ERR_PRIVILEGED.
 */
#ifndef HEISEN_LINUX_VMMCALL_H
#define HEISEN_LINUX_VMMCALL_H
#include <stdint.h>

static inline uint64_t vmmcall(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t ret;

	__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}
#endif
