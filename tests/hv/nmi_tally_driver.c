/*
 * Host driver for hv/core/nmi_tally.h: the NMI accounting read, with a
 * simulated NMI handler run at each point between its loads.  The handler does
 * what core/nmi_host.c does for an NMI meant for a guest that already has one
 * latched: host_nmis first, then merged.  Prints "ok" and exits 0 when every
 * placement still reads a balanced tally, and an unbalanced one (a counter off
 * by one) reads unbalanced.
 */
#include <stdio.h>

static int nmi_at = -1;		/* the load the NMI lands after; -1: none */
static struct vcpu_nmi *victim;
static void simulated_nmi(int step);

#define NMI_TALLY_BETWEEN_LOADS(step) simulated_nmi(step)
#include "core/nmi_tally.h"

static void simulated_nmi(int step)
{
	if (step != nmi_at)
		return;
	nmi_at = -1;		/* one NMI per read */
	victim->host_nmis++;
	victim->merged++;
}

int main(void)
{
	int failures = 0;
	for (int at = -1; at <= 4; at++) {
		struct vcpu_nmi n = { .host_nmis = 171, .quiesce_signals = 59, .injected = 35, .merged = 76,
				      .pending = 1 };
		victim = &n, nmi_at = at;
		if (!nmi_tally_balanced(&n)) {
			printf("an NMI after load %d tore the read: a balanced tally read as unbalanced\n", at);
			failures++;
		}
		n.merged++;	/* now one NMI too many is accounted: must read unbalanced */
		nmi_at = at;
		if (nmi_tally_balanced(&n)) {
			printf("an unbalanced tally read as balanced (NMI after load %d)\n", at);
			failures++;
		}
	}
	if (!failures)
		printf("ok\n");
	return failures != 0;
}
