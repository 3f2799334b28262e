/*
 * Nested page faults, arch-neutral: the guest touched memory the nested
 * table does not give it.  Either a PAL switch (hv/hypapps/pal.c), or a
 * refused access to the hypervisor's own memory or a PAL's pages: the guest
 * gets a #GP (a clean failure it can handle) and the hypervisor keeps going.
 */
#include "core/npf.h"
#include "core/vcpu.h"
#include "core/memory.h"
#include "core/log.h"
#include "core/event_test.h"
#include "core/sipi.h"
#include "arch/arch.h"
#include "core/hypapp.h"
#include <heisen/defs.h>

#define GP_VECTOR 13
#define NPF_PRINT_FIRST 8

static void refuse(struct vcpu *v, u64 gpa, bool write, const char *what)
{
	u64 rip = arch_guest_rip(v);
	trace_npf(gpa, write, rip);
	/* Every refusal is traced (NPF); the text line only for the first few
	 * and then every 1024th: a guest probing every page of the hypervisor
	 * (workload protect) would otherwise spend its time in the log. */
	if (++v->refused <= NPF_PRINT_FIRST || v->refused % 1024 == 0)
		hv_printf("cpu %u: guest %s of %s at %lx (rip %lx) refused (%lu so far)\n", v->cpu,
			  write ? "write" : "read", what, gpa, rip, v->refused);
	arch_inject_exception(v, GP_VECTOR, true, 0);
}

bool npf_handle(struct vcpu *v, u64 gpa, bool write, bool fetch)
{
	if (event_test_npf(v, gpa))
		return true;	/* mapped again; an interrupted delivery is redone */
	if (sipi_npf(v, gpa, write))
		return true;	/* a LAPIC write, stepped (core/sipi.c) */
	const struct hypapp *app;
	switch (hypapp_npf(v, gpa, fetch, &app)) {
	case HYPAPP_NPF_HANDLED:
		return true;
	case HYPAPP_NPF_REFUSE:
		refuse(v, gpa, write, app->guarded);
		return true;
	case HYPAPP_NPF_NOT_MINE:
		break;
	}
	if (gpa >= hv_mem_start() && gpa < hv_mem_end()) {
		refuse(v, gpa, write, "hypervisor memory");
		return true;
	}
	return false;
}
