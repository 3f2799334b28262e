#ifndef HV_HYPAPP_H
#define HV_HYPAPP_H
/*
 * The seam between the core and the hypapps (hv/hypapps/): what a hypapp
 * offers -- the hypercalls it answers and the guest memory it guards -- in
 * one descriptor each.  hv/hypapps/registry.c lists them; the core
 * dispatches through that list and never names a hypapp, so adding one
 * touches hv/hypapps/ and defs/hypercalls.toml only.
 */
#include "core/types.h"
struct vcpu;

/* A nested page fault, as a hypapp that owns (or owned) the page sees it. */
enum hypapp_npf {
	HYPAPP_NPF_NOT_MINE,	/* ask the next hypapp, then the core */
	HYPAPP_NPF_HANDLED,	/* resolved: run the guest again */
	HYPAPP_NPF_REFUSE,	/* guarded memory: the guest gets #GP (core/npf.c) */
};

struct hypapp_call {
	u32 nr;			/* HC_* of defs/hypercalls.toml */
	u64 (*fn)(struct vcpu *v, u64 a, u64 b, u64 c);
};

struct hypapp {
	const char *name;
	const struct hypapp_call *calls;
	u32 ncalls;
	enum hypapp_npf (*npf)(struct vcpu *v, u64 gpa, bool fetch);	/* NULL: guards nothing */
	bool (*owns)(u64 gpa);		/* guest memory it guards now; NULL: none */
	const char *guarded;		/* that memory, in a refusal's log line */
};

/* hv/hypapps/registry.c */
extern const struct hypapp *const hypapps[];
extern const u32 hypapps_count;

/* The handler some hypapp registered for hypercall `nr`, or NULL. */
const struct hypapp_call *hypapp_call_for(u64 nr);
/* The first hypapp's answer other than NOT_MINE, in registry order; *by
 * is that hypapp. */
enum hypapp_npf hypapp_npf(struct vcpu *v, u64 gpa, bool fetch, const struct hypapp **by);
/* Does any hypapp guard this guest-physical address?  (No side effects.) */
bool hypapp_owns(u64 gpa);
#endif
