/*
 * The `pal` hypapp: TrustVisor-like memory isolation for a Piece of
 * Application Logic.  A guest registers a region (code, data, stack and, for
 * a paging guest, the PAL's own page tables); from then on the rest of the
 * guest cannot touch those pages (absent from the shared nested table), and
 * the PAL runs with a nested table of its own that maps nothing else.
 *
 *  register:   quiesce every CPU (no CPU may run with a stale view while
 *              the shared table changes), unmap the region, build the PAL's
 *              table, request a TLB flush on every CPU, end the quiesce.
 *  call:       the guest `call`s the entry.  The fetch faults (region
 *              absent); the NPF handler switches this CPU to the PAL's
 *              table, its stack and page tables, and the fetch is retried.
 *  return:     the PAL leaves its region by an instruction fetch (it jumps
 *              anywhere outside): the NPF switches back and resumes the
 *              caller after its `call`, the PAL's RAX being the result.
 *  abort:      a PAL data access outside its region: switched back the same
 *              way, RAX = PAL_ERR_ABORTED.  The PAL never sees guest memory.
 *  unregister: quiesce, remap, flush, end.
 * Guest NMIs are held while a PAL runs (core/nmi_virt.c): its table maps no
 * guest IDT.  A PAL call needs the caller's stack identity-mapped (both
 * Heisenvisor guests are) to pop the return address.
 */
#include "hypapps/hypapps.h"
#include "core/percpu.h"
#include "core/quiesce.h"
#include "core/memory.h"
#include "core/string.h"
#include "arch/arch.h"
#include <heisen/defs.h>

#define PAGE 4096ull
#define PAL_SPAN_LIMIT (64ull << 20)	/* the 4 KiB-mapped part of the shared table */

struct pal_desc {
	u64 region, npages, entry, cr3, stack_top;
};

struct pal {
	u32 used;
	u32 npages;
	u64 region, entry, cr3, stack_top, npt_root;
};

static struct pal pals[PAL_MAX_PALS];

static u64 region_end(const struct pal *p) { return p->region + p->npages * PAGE; }

static bool in_region(const struct pal *p, u64 a) { return a >= p->region && a < region_end(p); }

static u64 check_desc(const struct pal_desc *d)
{
	if (d->npages == 0 || d->npages > PAL_MAX_PAGES)
		return PAL_ERR_BAD_DESCRIPTOR;
	u64 end = d->region + d->npages * PAGE;
	if ((d->region | d->cr3) & (PAGE - 1))
		return PAL_ERR_UNALIGNED;
	if (!guest_range_ok(d->region, d->npages * PAGE) || end > PAL_SPAN_LIMIT ||
	    (d->region >> 21) != ((end - 1) >> 21))
		return PAL_ERR_BAD_RANGE;
	if (d->entry < d->region || d->entry >= end || d->stack_top <= d->region ||
	    d->stack_top > end || (d->cr3 && (d->cr3 < d->region || d->cr3 >= end)))
		return PAL_ERR_BAD_DESCRIPTOR;
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		if (!pals[i].used)
			continue;
		if (pals[i].region == d->region)
			return PAL_ERR_ALREADY_REGISTERED;
		if (d->region < region_end(&pals[i]) && end > pals[i].region)
			return PAL_ERR_OVERLAP;
	}
	return 0;
}

static void flush_every_cpu(void)
{
	for (u32 i = 0; i < hv_ncpus; i++)
		arch_request_tlb_flush(cpu_of(i));
}

/* Runs with every other CPU quiesced: nobody can enter or change a PAL. */
static u64 register_quiesced(const struct pal_desc *d)
{
	u64 err = check_desc(d);
	if (err)
		return err;
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		struct pal *p = &pals[i];
		if (p->used)
			continue;
		*p = (struct pal){ 1, (u32)d->npages, d->region, d->entry, d->cr3, d->stack_top, 0 };
		p->npt_root = arch_pal_npt_build(i, p->region, p->npages);
		arch_npt_set_access(p->region, p->npages, false);
		flush_every_cpu();
		return 0;
	}
	return PAL_ERR_NO_SLOT;
}

u64 hypapp_pal_register(struct vcpu *v, u64 desc_gpa)
{
	(void)v;
	struct pal_desc d;
	if (!guest_range_ok(desc_gpa, sizeof(d)))
		return PAL_ERR_BAD_DESCRIPTOR;
	memcpy(&d, (const void *)desc_gpa, sizeof(d));	/* one copy: the guest cannot change it under us */
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	u64 r = register_quiesced(&d);
	quiesce_end(self, epoch);
	trace_pal_register(d.region, d.npages, r);
	return r;
}

static u64 unregister_quiesced(u64 region)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		struct pal *p = &pals[i];
		if (!p->used || p->region != region)
			continue;
		for (u32 c = 0; c < hv_ncpus; c++)
			if (cpu_of(c)->vcpu.pal.active && cpu_of(c)->vcpu.pal.slot == i)
				return PAL_ERR_BUSY;
		arch_npt_set_access(p->region, p->npages, true);
		flush_every_cpu();
		p->used = 0;
		return 0;
	}
	return PAL_ERR_NOT_REGISTERED;
}

u64 hypapp_pal_unregister(struct vcpu *v, u64 region)
{
	(void)v;
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	u64 r = unregister_quiesced(region);
	quiesce_end(self, epoch);
	trace_pal_unregister(region, r);
	return r;
}

static void leave_pal(struct vcpu *v, u64 result, u64 aborted_gpa)
{
	struct vcpu_pal *s = &v->pal;
	trace_pal_exit(pals[s->slot].region, result, aborted_gpa);
	arch_set_nested_root(v, 0);
	arch_set_guest_cr3(v, s->saved_cr3);
	arch_set_guest_rsp(v, s->saved_rsp);
	arch_set_guest_rip(v, s->ret_rip);
	arch_set_guest_rax(v, result);
	s->active = 0;
}

static enum pal_npf enter_pal(struct vcpu *v, u32 slot)
{
	const struct pal *p = &pals[slot];
	u64 word = arch_guest_long_mode(v) ? 8 : 4, rsp = arch_guest_rsp(v);
	if (!guest_range_ok(rsp, word))
		return PAL_NPF_REFUSE;
	u64 ret = word == 8 ? *(const u64 *)rsp : *(const u32 *)rsp;
	v->pal = (struct vcpu_pal){ 1, slot, ret, rsp + word, arch_guest_cr3(v) };
	trace_pal_enter(p->region, v->gpr.rbx, ret);
	arch_set_guest_rsp(v, p->stack_top);
	if (p->cr3)
		arch_set_guest_cr3(v, p->cr3);
	arch_set_nested_root(v, p->npt_root);
	return PAL_NPF_HANDLED;
}

bool hypapp_pal_contains(u64 gpa)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++)
		if (pals[i].used && in_region(&pals[i], gpa))
			return true;
	return false;
}

enum pal_npf hypapp_pal_npf(struct vcpu *v, u64 gpa, bool fetch)
{
	if (v->pal.active) {
		if (in_region(&pals[v->pal.slot], gpa))
			return PAL_NPF_NOT_PAL;		/* cannot happen: mapped */
		leave_pal(v, fetch ? arch_guest_rax(v) : PAL_ERR_ABORTED, fetch ? 0 : gpa);
		return PAL_NPF_HANDLED;
	}
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		if (!pals[i].used || !in_region(&pals[i], gpa))
			continue;
		if (fetch && gpa == pals[i].entry)
			return enter_pal(v, i);
		return PAL_NPF_REFUSE;
	}
	return PAL_NPF_NOT_PAL;
}
