/*
 * The command line is "path args" (QEMU -kernel and the hypervisor alike give
 * the kernel's whole module string).  Options, each `key=N` (decimal):
 *   cpus=N      the CPUs the kernel must find in the MADT and bring up
 *   mods=N      the modules it must be given
 *   early-nmi=1 send itself an NMI before it has an IDT (only under a
 *               hypervisor that holds it: on bare QEMU it would triple-fault)
 */
#include "kernel.h"

bool cmdline_value(const char *cmdline, const char *key, uint32_t *out)
{
	size_t klen = kstrlen(key);
	const char *p = cmdline;
	while (*p && *p != ' ')		/* the path */
		p++;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!kstrncmp(p, key, klen) && p[klen] == '=') {
			uint32_t v = 0;
			const char *d = p + klen + 1;
			if (*d < '0' || *d > '9')
				return false;
			while (*d >= '0' && *d <= '9')
				v = v * 10 + (uint32_t)(*d++ - '0');
			*out = v;
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}
