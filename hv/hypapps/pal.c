/*
 * The `pal` hypapp: TrustVisor-like memory isolation for a Piece of
 * Application Logic.  A guest registers a region (code, data, stack and, for
 * a paging kernel's PAL, its own page tables); from then on the rest of the
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
 * guest IDT.
 *
 * Two kinds of caller (defs/hypercalls.toml, PAL_REGISTER):
 *  - CPL 0 (our test kernels, identity-mapped): every address is physical;
 *    the region is contiguous, and desc.cr3, if any, is the PAL's own page
 *    table inside it.  The return address is read at the physical RSP.
 *  - CPL > 0 (a Linux process, 64-bit): every address is virtual, in the
 *    caller's CR3, and translated by a software walk (core/gpt_walk.c) under
 *    the quiesce, while no other CPU can change the tables.  Each page must be
 *    present, user and writable (a read-only page may be the shared zero page
 *    or a copy-on-write one: the PAL would write someone else's page).  The
 *    physical pages may be scattered anywhere below arch_npt_fine_end() and
 *    are hidden one by one.  The PAL runs on a guest page table the
 *    hypervisor builds (hypapps/pal_gpt.c), at guest-physical addresses no
 *    RAM uses (PAL_GPT_WINDOW), in the PAL's nested table only, at no
 *    virtual address of its own.
 *    Only the registering address space (CR3 page, not the PCID) may call
 *    it, at its entry's virtual address; the return address is read through
 *    the caller's page tables.  Physical interrupts are held while it runs:
 *    a timer tick would otherwise be delivered through the guest's IDT,
 *    which the PAL's table does not map, and abort every call it hits.
 *    SYSCALL is disabled while it runs (EFER.SCE): it alone reaches CPL 0
 *    without a fault on an unmapped table first (enter_pal).
 *    The kernel touching such a page (the process exited without
 *    unregistering and the page is freed and cleared; /proc/PID/mem) would
 *    oops on the #GP a refusal injects, and the page would stay lost to it:
 *    instead the PAL is revoked -- its pages zeroed, so its data never
 *    reaches the kernel, then given back -- and the access retried (revoke()).
 *    Limits: the process must keep the pages mapped and locked (mlock) while
 *    registered -- the hypervisor does not follow a page the kernel migrates
 *    -- and a PAL that never leaves holds its CPU.
 */
#include "hypapps/hypapps.h"
#include "core/percpu.h"
#include "core/quiesce.h"
#include "core/memory.h"
#include "core/string.h"
#include "core/gpt_walk.h"
#include "arch/arch.h"
#include "hypapps/pal_gpt.h"
#include <heisen/defs.h>

#define PAGE 4096ull
#define BLOCK (2ull << 20)
#define PAL_GPT_WINDOW (512ull << 30)	/* guest-physical: above any guest RAM, below MAXPHYADDR 40 */
#define PAL_GPT_TRAP (PAL_GPT_WINDOW + BLOCK)
#define CR3_TABLE 0x000ffffffffff000ull	/* CR3 without PCID / PCD / PWT */
#define USER_TOP (1ull << 47)

struct pal_desc {
	u64 region, npages, entry, cr3, stack_top;
};

struct pal {
	u32 used;
	u32 npages;
	bool user;		/* registered at CPL > 0: region, entry, stack_top are virtual */
	u64 region, entry, cr3, stack_top, npt_root;
	u64 owner_cr3;		/* user: the registering address space (CR3_TABLE bits) */
	u64 entry_pa;
	u64 pages[PAL_MAX_PAGES];	/* the physical pages, in region order */
};

static struct pal pals[PAL_MAX_PALS];

static bool in_region(const struct pal *p, u64 gpa)
{
	for (u32 i = 0; i < p->npages; i++)
		if ((gpa & ~(PAGE - 1)) == p->pages[i])
			return true;
	return false;
}

static bool pal_contains(u64 gpa)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++)
		if (pals[i].used && in_region(&pals[i], gpa))
			return true;
	return false;
}

/* The walk's reader: guest RAM only, never the hypervisor's memory nor a
 * registered PAL's pages (the kernel could point a table into one). */
static bool read_guest(void *ctx, u64 gpa, u64 *val)
{
	(void)ctx;
	if (!guest_range_ok(gpa, 8) || pal_contains(gpa))
		return false;
	*val = *(volatile const u64 *)gpa;
	return true;
}

/* va -> physical for a process access (present and user); 0 if not. */
static u64 user_pa(u64 cr3, u64 va, struct gpt_result *r)
{
	if (gpt_walk(cr3, va, read_guest, NULL, r) != GPT_OK || !r->user)
		return 0;
	return r->pa;
}

/* Copies len bytes at the process's va: false if any byte is not a
 * readable user page of guest RAM. */
static bool copy_from_user(void *dst, u64 cr3, u64 va, u64 len)
{
	u8 *d = dst;
	while (len) {
		struct gpt_result r;
		u64 pa = user_pa(cr3, va, &r), chunk = PAGE - (va & (PAGE - 1));
		chunk = chunk < len ? chunk : len;
		if (!pa || !guest_range_ok(pa, chunk) || pal_contains(pa))
			return false;
		memcpy(d, (const void *)pa, chunk);
		d += chunk, va += chunk, len -= chunk;
	}
	return true;
}

static u64 check_shape(const struct pal_desc *d, bool user)
{
	if (d->npages == 0 || d->npages > PAL_MAX_PAGES)
		return PAL_ERR_BAD_DESCRIPTOR;
	u64 end = d->region + d->npages * PAGE;
	if ((d->region | d->cr3) & (PAGE - 1))
		return PAL_ERR_UNALIGNED;
	if ((d->region >> 21) != ((end - 1) >> 21) || end < d->region)
		return PAL_ERR_BAD_RANGE;
	if (user && d->cr3)
		return PAL_ERR_BAD_DESCRIPTOR;	/* the hypervisor builds a process PAL's tables */
	if (user && end > USER_TOP)
		return PAL_ERR_BAD_RANGE;
	if (!user && (!guest_range_ok(d->region, d->npages * PAGE) || end > arch_npt_fine_end()))
		return PAL_ERR_BAD_RANGE;
	if (d->entry < d->region || d->entry >= end || d->stack_top <= d->region ||
	    d->stack_top > end || (d->cr3 && (d->cr3 < d->region || d->cr3 >= end)))
		return PAL_ERR_BAD_DESCRIPTOR;
	return 0;
}

/* The physical page of each region page of a process's PAL. */
static u64 walk_region(struct pal *p, u64 cr3)
{
	for (u32 i = 0; i < p->npages; i++) {
		struct gpt_result r;
		if (gpt_walk(cr3, p->region + i * PAGE, read_guest, NULL, &r) != GPT_OK)
			return PAL_ERR_NOT_MAPPED;
		if (!r.user)
			return PAL_ERR_NOT_USER;
		if (!r.writable)
			return PAL_ERR_READ_ONLY;
		u64 pa = r.pa & ~(PAGE - 1);
		if (!guest_range_ok(pa, PAGE) || pa + PAGE > arch_npt_fine_end())
			return PAL_ERR_BAD_RANGE;
		for (u32 j = 0; j < i; j++)
			if (p->pages[j] == pa)
				return PAL_ERR_OVERLAP;
		p->pages[i] = pa;
	}
	p->entry_pa = p->pages[(p->entry - p->region) / PAGE] | (p->entry & (PAGE - 1));
	return 0;
}

static u64 check_others(const struct pal *p)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		const struct pal *o = &pals[i];
		if (!o->used)
			continue;
		if (o->user == p->user && o->region == p->region && o->owner_cr3 == p->owner_cr3)
			return PAL_ERR_ALREADY_REGISTERED;
		for (u32 j = 0; j < p->npages; j++)
			if (in_region(o, p->pages[j]))
				return PAL_ERR_OVERLAP;
	}
	return 0;
}

/* The PAL's nested table: its pages and, for a process's PAL, the guest page
 * table the hypervisor built for it.  That table is writable in the nested
 * table because QEMU's TCG translates every guest page-walk access as a
 * store (QEMU 7.2 target/i386 mmu_translate asks get_hphys for
 * MMU_DATA_STORE, for its A/D updates), so a read-only
 * mapping faults on the walk itself; the PAL still cannot write it, since no
 * virtual address in the table leads to the table's own pages. */
/* A pool per slot, sized for the worst case a PAL can ask for: PAL_MAX_PAGES
 * scattered pages below 1 GiB (a PML4, a PDPT, a PD and one PT each) plus its
 * guest page table in one 2 MiB block elsewhere (a PDPT, a PD, a PT). */
#define PAL_NPT_POOL (PAL_MAX_PAGES + 8)

static u64 npt_pool[PAL_MAX_PALS][PAL_NPT_POOL][512] __aligned(4096);

static u64 build_npt(u32 slot, struct pal *p)
{
	struct pal_map m[PAL_MAX_PAGES + PAL_GPT_PAGES];
	u32 n = 0;
	for (u32 i = 0; i < p->npages; i++)
		m[n++] = (struct pal_map){ p->pages[i], p->pages[i], true };
	if (p->user) {
		u64 host[PAL_GPT_PAGES];
		pal_gpt_build(slot, PAL_GPT_WINDOW, PAL_GPT_TRAP, p->region, p->pages, p->npages, host);
		for (u32 i = 0; i < PAL_GPT_PAGES; i++)
			m[n++] = (struct pal_map){ PAL_GPT_WINDOW + i * PAGE, host[i], true };
		p->cr3 = PAL_GPT_WINDOW;
	}
	struct nested_pool pool = { npt_pool[slot], PAL_NPT_POOL, 0 };
	p->npt_root = nested_build(&pool, &arch_nested_format, m, n);
	return p->npt_root ? 0 : PAL_ERR_NO_SLOT;
}

static void flush_every_cpu(void)
{
	for (u32 i = 0; i < hv_ncpus; i++)
		arch_request_tlb_flush(cpu_of(i));
}

static void set_access(const struct pal *p, bool present)
{
	for (u32 i = 0; i < p->npages; i++)
		arch_npt_set_access(p->pages[i], 1, present);
}

/* The candidate PAL from a descriptor: addresses checked, pages found. */
static u64 describe(struct pal *p, const struct pal_desc *d, bool user, u64 cr3)
{
	u64 err = check_shape(d, user);
	if (err)
		return err;
	*p = (struct pal){ 1, (u32)d->npages, user, d->region, d->entry, d->cr3, d->stack_top, 0,
			   user ? cr3 & CR3_TABLE : 0, d->entry, { 0 } };
	if (user)
		return walk_region(p, cr3);
	for (u32 i = 0; i < p->npages; i++)
		p->pages[i] = p->region + i * PAGE;
	return 0;
}

/* Runs with every other CPU quiesced: nobody can enter or change a PAL, and
 * no other CPU can edit the caller's page tables under the walk. */
static u64 register_quiesced(const struct pal_desc *d, bool user, u64 cr3)
{
	struct pal cand;
	u64 err = describe(&cand, d, user, cr3);
	if (err || (err = check_others(&cand)))
		return err;
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		if (pals[i].used)
			continue;
		if ((err = build_npt(i, &cand)))
			return err;
		pals[i] = cand;
		set_access(&pals[i], false);
		flush_every_cpu();
		return 0;
	}
	return PAL_ERR_NO_SLOT;
}

static bool from_process(struct vcpu *v) { return arch_guest_cpl(v) != 0; }

static u64 pal_register(struct vcpu *v, u64 desc_addr, u64 unused_b, u64 unused_c)
{
	(void)unused_b, (void)unused_c;
	struct pal_desc d;
	bool user = from_process(v);
	u64 cr3 = arch_guest_cr3(v), r;
	/* One copy: the guest cannot change it under us. */
	if (user && (!arch_guest_long_mode(v) || !copy_from_user(&d, cr3, desc_addr, sizeof(d)))) {
		r = PAL_ERR_BAD_DESCRIPTOR;
		trace_pal_register(desc_addr, 0, r);
		return r;
	}
	if (!user) {
		if (!guest_range_ok(desc_addr, sizeof(d)))
			return PAL_ERR_BAD_DESCRIPTOR;
		memcpy(&d, (const void *)desc_addr, sizeof(d));
	}
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	r = register_quiesced(&d, user, cr3);
	quiesce_end(self, epoch);
	trace_pal_register(d.region, d.npages, r);
	return r;
}

static bool owns(const struct pal *p, bool user, u64 cr3, u64 region)
{
	return p->used && p->region == region && p->user == user &&
	       (!user || p->owner_cr3 == (cr3 & CR3_TABLE));
}

static bool running_anywhere(u32 slot)
{
	for (u32 c = 0; c < hv_ncpus; c++)
		if (cpu_of(c)->vcpu.pal.active && cpu_of(c)->vcpu.pal.slot == slot)
			return true;
	return false;
}

static u64 unregister_quiesced(u64 region, bool user, u64 cr3)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		struct pal *p = &pals[i];
		if (!owns(p, user, cr3, region))
			continue;
		if (running_anywhere(i))
			return PAL_ERR_BUSY;
		set_access(p, true);
		flush_every_cpu();
		p->used = 0;
		return 0;
	}
	return PAL_ERR_NOT_REGISTERED;
}

static u64 pal_unregister(struct vcpu *v, u64 region, u64 unused_b, u64 unused_c)
{
	(void)unused_b, (void)unused_c;
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	u64 r = unregister_quiesced(region, from_process(v), arch_guest_cr3(v));
	quiesce_end(self, epoch);
	trace_pal_unregister(region, r);
	return r;
}

static void leave_pal(struct vcpu *v, u64 result, u64 aborted_gpa)
{
	struct vcpu_pal *s = &v->pal;
	trace_pal_exit(pals[s->slot].region, result, aborted_gpa);
	if (pals[s->slot].user) {
		arch_hold_interrupts(v, false);
		arch_guest_syscall(v, s->syscall_on);
	}
	arch_set_nested_root(v, 0);
	arch_set_guest_cr3(v, s->saved_cr3);
	arch_set_guest_rsp(v, s->saved_rsp);
	arch_set_guest_rip(v, s->ret_rip);
	arch_set_guest_rax(v, result);
	s->active = 0;
}

/* The physical address of the return address the caller's `call` pushed. */
static u64 return_slot(struct vcpu *v, const struct pal *p, u64 rsp, u64 word)
{
	if (!p->user)
		return guest_range_ok(rsp, word) ? rsp : 0;
	struct gpt_result r;
	if ((rsp & (PAGE - 1)) > PAGE - word)
		return 0;	/* straddles a page: no `call` from an aligned stack does that */
	u64 pa = user_pa(arch_guest_cr3(v), rsp, &r);
	return pa && guest_range_ok(pa, word) && !pal_contains(pa) ? pa : 0;
}

/* A process's PAL is entered only from its own address space, at CPL > 0, by
 * a fetch of its entry's virtual address: another process that maps the same
 * physical page (shared memory) or the kernel must not run it. */
static bool caller_may_enter(struct vcpu *v, const struct pal *p)
{
	if (!p->user)
		return true;
	return from_process(v) && arch_guest_long_mode(v) && arch_guest_rip(v) == p->entry &&
	       (arch_guest_cr3(v) & CR3_TABLE) == p->owner_cr3;
}

static enum hypapp_npf enter_pal(struct vcpu *v, u32 slot)
{
	const struct pal *p = &pals[slot];
	u64 word = arch_guest_long_mode(v) ? 8 : 4, rsp = arch_guest_rsp(v);
	if (!caller_may_enter(v, p))
		return HYPAPP_NPF_REFUSE;
	u64 at = return_slot(v, p, rsp, word);
	if (!at)
		return HYPAPP_NPF_REFUSE;
	u64 ret = word == 8 ? *(const u64 *)at : *(const u32 *)at;
	v->pal = (struct vcpu_pal){ 1, slot, ret, rsp + word, arch_guest_cr3(v), 0 };
	trace_pal_enter(p->region, v->gpr.rbx, ret);
	arch_set_guest_rsp(v, p->stack_top);
	if (p->cr3)
		arch_set_guest_cr3(v, p->cr3);
	if (p->user) {
		arch_hold_interrupts(v, true);
		/* SYSCALL is the one way from CPL 3 to CPL 0 that reads no
		 * table the PAL's page table leaves out (IDT, GDT gates fault
		 * first): the kernel's entry fetch would end the PAL with CS
		 * still the kernel's and the process resumed at CPL 0.  With
		 * EFER.SCE clear it raises #UD, whose delivery faults on the
		 * IDT: the PAL is aborted at CPL 3. */
		v->pal.syscall_on = arch_guest_syscall(v, false);
	}
	arch_set_nested_root(v, p->npt_root);
	return HYPAPP_NPF_HANDLED;
}

/* Under the quiesce: the slot may have changed since the fault was seen. */
static void revoke_quiesced(u64 gpa)
{
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		struct pal *p = &pals[i];
		if (!p->used || !p->user || !in_region(p, gpa) || running_anywhere(i))
			continue;	/* running: its process finishes the call, the kernel retries */
		for (u32 j = 0; j < p->npages; j++)
			memset((void *)p->pages[j], 0, PAGE);
		set_access(p, true);
		flush_every_cpu();
		p->used = 0;
		trace_pal_unregister(p->region, PAL_ERR_REVOKED);
	}
}

/* The guest's kernel touched a process PAL's page.  It does that when the
 * process died without unregistering (the page is freed and cleared) or on
 * behalf of another process (/proc/PID/mem, a copy-on-write copy).  A #GP
 * there would oops the kernel; leaving the page hidden would lose it to the
 * kernel forever.  So the PAL ends: its pages are zeroed (its secrets never
 * reach the kernel), given back, and the kernel's access is retried. */
static enum hypapp_npf revoke(u64 gpa)
{
	struct percpu *self = this_cpu();
	u64 epoch = quiesce_begin(self);
	revoke_quiesced(gpa);
	quiesce_end(self, epoch);
	return HYPAPP_NPF_HANDLED;
}

static enum hypapp_npf pal_npf(struct vcpu *v, u64 gpa, bool fetch)
{
	if (v->pal.active) {
		if (in_region(&pals[v->pal.slot], gpa))
			return HYPAPP_NPF_NOT_MINE;		/* cannot happen: mapped */
		leave_pal(v, fetch ? arch_guest_rax(v) : PAL_ERR_ABORTED, fetch ? 0 : gpa);
		return HYPAPP_NPF_HANDLED;
	}
	for (u32 i = 0; i < PAL_MAX_PALS; i++) {
		if (!pals[i].used || !in_region(&pals[i], gpa))
			continue;
		if (fetch && gpa == pals[i].entry_pa)
			return enter_pal(v, i);
		if (pals[i].user && !from_process(v))
			return revoke(gpa);
		return HYPAPP_NPF_REFUSE;
	}
	return HYPAPP_NPF_NOT_MINE;
}

static const struct hypapp_call calls[] = {
	{ HC_PAL_REGISTER, pal_register },
	{ HC_PAL_UNREGISTER, pal_unregister },
};
const struct hypapp pal_hypapp = {
	.name = "pal",
	.calls = calls,
	.ncalls = ARRAY_SIZE(calls),
	.npf = pal_npf,
	.owns = pal_contains,
	.guarded = "a registered PAL's memory",
};
