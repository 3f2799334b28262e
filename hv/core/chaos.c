/*
 * Seeded perturbation for deterministic mode (docs/determinism.md).  Under QEMU with one
 * TCG thread and a fixed icount a run is a pure function of (build, command
 * line), but the emulator switches vCPUs in long slices, so cross-CPU races
 * barely interleave (notes: determinism-and-replay.md, "Interleavings").
 * With `seed=N` each CPU draws from its own xorshift stream and, at the end
 * of some exits, *yields*: it arms its LAPIC timer and halts, which hands the
 * emulator to another vCPU until the timer fires -- a different seed, a
 * different interleaving, the same seed, the same one.  `nmi_every=K` makes
 * the hypervisor the NMI source (the in-machine replacement for host-timed
 * QMP inject-nmi): on average once per K exits a CPU sends an NMI IPI to a
 * seed-chosen CPU.  Short spins (chaos_spin) perturb the quiesce and NMI
 * paths themselves, where halting is not allowed, and each is also a point
 * where an NMI may be sent, with the same odds as at an exit (so with a seed,
 * quiesce-heavy workloads get more NMIs than nmi_every's exit-based rate;
 * harness/schedule.py derives K from exits only).  Exit tails
 * alone never put an NMI where QMP inject-nmi puts one all the time: on a
 * CPU that is stopped by a quiesce (inject-nmi reaches every CPU), in a
 * requester's wait, under a lock.  XMHF64's lost NMI ("Race condition"
 * table) and its endquiesce race are NMIs of exactly that kind.
 *
 * Each CPU has two streams, one for normal context and one for its NMI
 * handler, so an NMI landing in the middle of a draw cannot tear a state.
 *
 * `nmi_com2=1` (QEMU record/replay, harness/launch/rr.py) takes host NMI *requests*
 * as bytes on COM2: at an exit tail CPU 0 consumes a waiting byte and sends
 * itself an NMI.  QEMU 7.2 records serial input and replays LAPIC self-NMIs,
 * but not QMP inject-nmi, and an NMI that arrives in SVM guest mode (taken
 * as #VMEXIT(NMI)) cannot be replayed at all: it is logged as an exception,
 * and replay only delivers NMIs where the log has an interrupt.  A self-NMI
 * sent here always lands in host mode.
 */
#include "core/chaos.h"
#include "core/percpu.h"
#include "core/cmdline.h"
#include "core/halt.h"
#include "core/log.h"
#include "core/lapic.h"
#include "core/tsc.h"
#include "core/x86.h"
#include "core/nmi_edu.h"

static u64 seed;
static u64 nmi_every;
static u64 nmi_com2;

#define COM2 0x2f8
#define LSR_DATA_READY 0x01

void chaos_init(const struct hv_options *o)
{
	seed = o->seed;
	nmi_every = o->nmi_every;
	nmi_com2 = o->nmi_com2;
	/* No UART there, the port floats to 0xFF: "data ready" would read set at every
	 * exit and the CPU would NMI itself at every one.  Refuse instead. */
	if (nmi_com2 && inb(COM2 + 5) == 0xFF) {
		hv_printf("nmi_com2: no UART at COM2, ignored\n");
		nmi_com2 = 0;
	}
	if (nmi_com2) {
		/* No UART interrupts (it is polled); FIFO on, so QEMU can hand
		 * over up to 16 waiting requests at once instead of one. */
		outb(COM2 + 1, 0x00);
		outb(COM2 + 2, 0xc7);
	}
}

static u64 splitmix(u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void chaos_cpu_init(struct percpu *c)
{
	c->rng[0] = splitmix(seed ^ ((u64)c->index << 32)) | 1;
	c->rng[1] = splitmix(c->rng[0]) | 1;
}

u64 chaos_next(u64 *s)
{
	u64 x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

u64 chaos_stream(u64 salt)
{
	return splitmix(seed ^ salt) | 1;
}

/* This context's stream: the NMI handler draws from its own (see the top). */
static u64 *stream_of(struct percpu *c)
{
	return c->nmi_depth ? &c->rng[1] : &c->rng[0];
}

/*
 * An OS guest (Linux) owns the LAPIC timer and takes external interrupts
 * itself: arming our timer would replace its own (Linux then waited forever
 * for a tick that never came), and STI in the host would take its interrupts
 * through the host IDT.  Such a yield spins instead; each PAUSE still hands
 * the TCG thread to another vCPU (QEMU's helper_pause).  The timer counts
 * nanoseconds under QEMU (divide by 1), hence the scale.
 */
static bool guest_owns_interrupts;
void chaos_guest_owns_interrupts(void) { guest_owns_interrupts = true; }

static void yield_for(u32 ticks)
{
	if (guest_owns_interrupts) {
		tsc_spin((u64)ticks * tsc_khz / 1000000 + 1);
		return;
	}
	halt_for(ticks, false);
}

/*
 * 1 in nmi_every: an NMI to a seed-chosen CPU.  No draw from the stream
 * without nmi_every, so NMI-free scenarios keep their schedules.
 *
 * An OS's NMIs all go to the BSP, as QMP inject-nmi's do: it raises LINT1 on
 * every CPU, and an OS keeps LINT1 masked on its APs (the firmware's state).
 * An NMI sent to an AP would also be lost to the count the verdict holds
 * against the hypervisor's: Linux drops, uncounted, an NMI that reaches a CPU
 * not yet marked online (exc_nmi: arch_cpu_is_offline), and an in-machine
 * NMI can reach an AP at any point of its bring-up (linux-zoo-quiesce-nmi,
 * deterministic, seed 1: CPU 1 injected 86, Linux counted 83).
 */
static void maybe_send_nmi(u64 *stream)
{
	if (!nmi_every)
		return;
	u64 r = chaos_next(stream);
	u32 target = guest_owns_interrupts ? 0 : (u32)((r >> 32) % hv_ncpus);
	if (r % nmi_every == 0)
		lapic_send_nmi(cpu_of(target)->apic_id);
}

void chaos_exit_point(struct percpu *c)
{
	/* The device NMIs (nmi_edu=) land where no exit or spin can send one; CPU 0
	 * re-arms their source here (nmi_edu.c). */
	nmi_edu_exit_point(c);
	/* One CPU polls, so two cannot both see the byte and both consume it. */
	if (nmi_com2 && c->index == 0 && (inb(COM2 + 5) & LSR_DATA_READY)) {
		(void)inb(COM2);
		lapic_send_nmi(c->apic_id);
	}
	maybe_send_nmi(&c->rng[0]);
	if (!seed)
		return;
	u64 r = chaos_next(&c->rng[0]);
	if ((r & 63) == 0)	/* 1 exit in 64 yields, for 1..4096 timer ticks */
		yield_for(1 + (u32)((r >> 8) & 4095));
}

/*
 * The spin lasts r & 1023 microseconds of TSC time, not r & 1023 pauses.
 * Under QEMU TCG with one thread, `pause` ends this vCPU's turn and every
 * other vCPU then runs until its own turn ends: a few instructions if it is
 * spinning too, a whole round-robin turn (up to QEMU's 100 ms kick period,
 * docs/quiesce.md) if it is busy in a loop without pause, such as TEST's
 * sleep.  Counted in pauses, one spin could cost 1023 of those turns: a
 * quiesce requester spinning between two NMI IPIs stopped the world for 26 s
 * (stress-all, seed 1756342317).  Ended by the clock, a spin costs its draw
 * or one round of the other vCPUs' turns, whichever is longer; with other
 * CPUs spinning it still interleaves them hundreds of times.  Test:
 * scenarios/quiesce-busy.toml (quiesce_epoch's within_ms in decoder/rules.toml).
 */
void chaos_spin(struct percpu *c)
{
	if (!seed)
		return;
	u64 *s = stream_of(c);
	u64 r = chaos_next(s);
	tsc_spin((r & 1023) * (tsc_khz / 1000));
	/* In NMI context (stream 1) an NMI to this CPU is held until the
	 * handler's IRET: the second NMI of XMHF64's "Race condition" table. */
	maybe_send_nmi(s);
}

u32 chaos_choose(struct percpu *c, u32 n)
{
	if (!seed || !n)
		return n;
	return (u32)(chaos_next(stream_of(c)) % n);
}
