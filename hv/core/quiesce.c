/*
 * Stop-the-world ("quiesce"), XMHF64's xmhf_smpguest_*_quiesce redone with
 * epochs.  A requester takes the quiesce lock, opens epoch E, writes E into
 * each other CPU's `q_signal` and sends it an NMI IPI.  A CPU's host NMI
 * handler sees q_signal != q_seen, acknowledges E and spins until
 * `resume_epoch == E`; the requester waits for every ack (QUIESCE_BEGIN),
 * does its work, publishes resume_epoch = E (QUIESCE_END) and waits until
 * every CPU has left (QUIESCE_RESUME) before dropping the lock.
 *
 * Interleavings this survives (tests: tests/test_pal_quiesce.py for
 * concurrent requesters, tests/test_xmhf64_scenarios.py tests 3-5 with NMIs,
 * tests/test_zoo.py for XMHF64's variants put back, tests/test_quiesce_bound.py
 * for the bound; docs/quiesce.md tells the whole protocol):
 *  - XMHF64's "endquiesce" bug: a boolean resume flag reset after use let a CPU
 *    that took one more NMI see the old flag state and stop forever.  Here a
 *    stopped CPU waits for its own epoch number, which only grows: it can
 *    neither miss its resume nor mistake an old one for it.
 *  - XMHF64's "Race condition" table: a guest NMI and the quiesce NMI both
 *    arrive while the CPU is in its NMI handler; the hardware latches the
 *    second.  Classification is per signal, not by a global "quiesce is on"
 *    flag: the first NMI consumes the outstanding signal, the second finds
 *    none and goes to the guest.  Nothing is dropped.  (Two NMIs merged by
 *    the hardware itself are indistinguishable: docs/quiesce.md.)
 *  - two CPUs requesting at once: the loser spins on the lock with GIF=1,
 *    so the winner's NMI stops it like any other CPU.
 *  - a requester that takes a guest NMI while waiting for acks: its handler
 *    latches the NMI for its guest; the requester itself never has a signal.
 *  - a requester whose spins hand the emulator to a CPU busy in a loop
 *    without pause (TEST's sleep): every spin on the way is ended by the
 *    TSC, and the send loop has one, so an epoch takes a bounded number of
 *    rounds of the other CPUs' turns (stress-all seed 1756342317 took 26 s
 *    when spins counted pauses; docs/quiesce.md, "The bound").
 * XMHF64's print-lock deadlock cannot happen: nothing here prints, and
 * hv_printf never takes a lock (it writes to this CPU's trace ring).
 */
#include "core/quiesce.h"
#include "core/percpu.h"
#include "core/lapic.h"
#include "core/x86.h"
#include "core/log.h"
#include "core/serial.h"
#include "core/chaos.h"
#include "core/spinlock.h"
#include <heisen/defs.h>

static struct {
	u32 lock;
	u64 epoch;		/* last epoch opened */
	u32 acked;		/* CPUs stopped in the current epoch */
	u32 resumed;		/* CPUs that left the current epoch */
	u64 resume_epoch;	/* last epoch ended */
#ifdef BUG_endquiesce_order
	u32 active;		/* XMHF64's g_vmx_quiesce: an epoch is open */
	u32 resume_signal;	/* XMHF64's boolean resume flag */
#endif
} q;

#ifdef BUG_print_lock_order
/* Zoo: XMHF64's debug printf lock ("Continue debugging"): CPU 0 prints under
 * the quiesce lock while a quiesced CPU holds the print lock -> deadlock. */
static u32 print_lock;
void bug_locked_print(const char *what, u64 v)
{
	/* As XMHF64's printf: straight to the UART, one line under the lock
	 * (so the window where a quiesce NMI stops the holder is long).  The
	 * raw text lands between trace frames; the decoder resyncs past it. */
	char line[160];
	size_t n = trace_format(line, sizeof(line), "cpu %u: %s %lx\n", this_cpu()->index, what, v);
	spin_lock(&print_lock);
	for (size_t i = 0; i < n; i++)
		serial_putc((u8)line[i]);
	spin_unlock(&print_lock);
}
#endif

u64 quiesce_begin(struct percpu *self)
{
	spin_lock(&q.lock);
	u64 e = q.epoch + 1;
	__atomic_store_n(&q.epoch, e, __ATOMIC_RELAXED);
	__atomic_store_n(&q.acked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q.resumed, 0, __ATOMIC_RELAXED);
#ifdef BUG_endquiesce_order
	__atomic_store_n(&q.active, 1, __ATOMIC_RELEASE);
#endif
	trace_quiesce_request(e);
	/*
	 * Deterministic mode widens the window between one seed-chosen CPU's
	 * signal and its NMI (an NMI from elsewhere may find the signal first).
	 * One window, not one per CPU: under TCG a spin lasts at least one round
	 * of the other vCPUs' turns, and a CPU not yet signalled may be busy for
	 * a whole slice, so a spin per CPU made the send loop quadratic in the
	 * CPU count (docs/quiesce.md, "The bound").
	 */
	u32 widen = chaos_choose(self, hv_ncpus);
	for (u32 i = 0; i < hv_ncpus; i++) {
		if (i == self->index)
			continue;
		/* The signal must be visible before the NMI that announces it. */
		__atomic_store_n(&cpu_of(i)->q_signal, e, __ATOMIC_RELEASE);
		if (i == widen)
			chaos_spin(self);
		lapic_send_nmi(cpu_of(i)->apic_id);
	}
	while (__atomic_load_n(&q.acked, __ATOMIC_ACQUIRE) < hv_ncpus - 1)
		cpu_relax();
	trace_quiesce_begin(e);
#ifdef BUG_print_lock_order
	bug_locked_print("all CPUs quiesced, epoch", e);
#endif
	return e;
}

void quiesce_end(struct percpu *self, u64 e)
{
	chaos_spin(self);
	trace_quiesce_end(e);
#ifdef BUG_endquiesce_order
	/* Zoo: XMHF64's endquiesce before its fix ("Quiesce locking logic 2"):
	 * resume first, clear "quiesce on" last.  A CPU that resumed and takes
	 * another NMI meanwhile sees quiesce still on and stops again, waiting
	 * for a resume signal that is about to be reset. */
	__atomic_store_n(&q.resume_signal, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&q.resumed, __ATOMIC_ACQUIRE) < hv_ncpus - 1)
		cpu_relax();
	__atomic_store_n(&q.active, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&q.resume_signal, 0, __ATOMIC_RELEASE);
#else
	__atomic_store_n(&q.resume_epoch, e, __ATOMIC_RELEASE);
	while (__atomic_load_n(&q.resumed, __ATOMIC_ACQUIRE) < hv_ncpus - 1)
		cpu_relax();
#endif
	spin_unlock(&q.lock);
}

enum nmi_class quiesce_classify_nmi(struct percpu *c, bool where_hv)
{
	(void)where_hv;
#ifdef BUG_endquiesce_order
	/* Zoo: classify by the global "quiesce on" flag, as XMHF64 did
	 * (g_vmx_quiesce): an NMI while it is on is a quiesce NMI. */
	if (__atomic_load_n(&q.active, __ATOMIC_ACQUIRE))
		return NMI_QUIESCE;
#endif
#ifdef BUG_nmi_coalesce_drop
	/* Zoo: XMHF64's "Race condition" table.  A guest NMI that arrives
	 * while this CPU is stopped is latched and taken right after the
	 * quiesce; XMHF64 took it for the (already handled) quiesce NMI and
	 * ignored it ("Ignore interrupt") -- the guest's NMI is lost. */
	if (c->q_stale && where_hv) {
		c->q_stale = 0;
		return NMI_DROPPED;
	}
#endif
	if (__atomic_load_n(&c->q_signal, __ATOMIC_ACQUIRE) != c->q_seen)
		return NMI_QUIESCE;
	return NMI_FOR_GUEST;
}

void quiesce_stop_here(struct percpu *c)
{
	u64 e = __atomic_load_n(&c->q_signal, __ATOMIC_ACQUIRE);
	c->q_seen = e;
	c->q_stopped = 1;
	c->vcpu.nmi.quiesce_signals++;
	trace_quiesce_ack(e);
	chaos_spin(c);
	__atomic_fetch_add(&q.acked, 1, __ATOMIC_RELEASE);
#ifdef BUG_endquiesce_order
	while (!__atomic_load_n(&q.resume_signal, __ATOMIC_ACQUIRE))
		cpu_relax();
#else
	while (__atomic_load_n(&q.resume_epoch, __ATOMIC_ACQUIRE) != e)
		cpu_relax();
#endif
	c->q_stopped = 0;
#ifdef BUG_nmi_coalesce_drop
	c->q_stale = 1;
#endif
	chaos_spin(c);
	trace_quiesce_resume(e);
	__atomic_fetch_add(&q.resumed, 1, __ATOMIC_RELEASE);
}
