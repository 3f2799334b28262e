/* Dispatch to the hypapps through their descriptors (core/hypapp.h). */
#include "core/hypapp.h"

const struct hypapp_call *hypapp_call_for(u64 nr)
{
	for (u32 i = 0; i < hypapps_count; i++)
		for (u32 j = 0; j < hypapps[i]->ncalls; j++)
			if (hypapps[i]->calls[j].nr == nr)
				return &hypapps[i]->calls[j];
	return 0;
}

enum hypapp_npf hypapp_npf(struct vcpu *v, u64 gpa, bool fetch, const struct hypapp **by)
{
	for (u32 i = 0; i < hypapps_count; i++) {
		enum hypapp_npf r = hypapps[i]->npf ? hypapps[i]->npf(v, gpa, fetch) : HYPAPP_NPF_NOT_MINE;
		if (r != HYPAPP_NPF_NOT_MINE) {
			*by = hypapps[i];
			return r;
		}
	}
	return HYPAPP_NPF_NOT_MINE;
}

bool hypapp_owns(u64 gpa)
{
	for (u32 i = 0; i < hypapps_count; i++)
		if (hypapps[i]->owns && hypapps[i]->owns(gpa))
			return true;
	return false;
}
