/*
 * INIT/SIPI virtualization for guests that start their own APs (Linux).
 *
 * Every CPU runs under the hypervisor from boot, so a guest's INIT must never
 * reach a CPU: under TCG an INIT resets the CPU whether intercepted or not,
 * and the following SIPI would start it in *host* mode, the guest's code
 * without the hypervisor (docs/platform.md G1).  So
 * the APs wait in the hypervisor (sipi_wait), and the guest's writes to its
 * xAPIC ICR are caught: INIT is dropped, a SIPI to a waiting AP starts that
 * AP's guest in real mode at the vector, every other IPI (fixed, NMI,
 * lowest priority, shorthands) is sent exactly as the guest wrote it.
 *
 * Catching a write without decode assists (TCG has none): each CPU's nested
 * table maps the xAPIC page read-only (hv/arch/svm/npt.c).  A write faults;
 * the page is mapped writable for one instruction -- the real LAPIC, or for
 * ICR_LO a shadow page -- with TF set and interrupts held (an interrupt's
 * EOI during the step would land in the shadow page and leave the real ISR
 * bit set), and at the #DB exit the page is read-only again and the shadow's
 * ICR_LO is acted on.  ICR_HI goes to the real LAPIC: the hypervisor's own
 * sends restore it (core/lapic.c icr_send), and a forwarded IPI needs it.
 * QEMU's xAPIC decodes offset >> 4, so a write anywhere in 0x300..0x30f is
 * ICR_LO.  No NMI is injected during the step (core/nmi_virt.c): its handler
 * would run with the shadow page mapped.
 *
 * Once every AP has had its SIPI the trap ends, CPU by CPU at its next
 * LAPIC write: two exits per LAPIC write (every EOI) is a boot-time cost.
 * A later INIT (CPU hotplug) would then reach the hardware: not supported.
 * Tested by tests/test_linux.py (Linux at -smp 2 and 4, every CPU online).
 */
#include "core/sipi.h"
#include "core/percpu.h"
#include "core/lapic.h"
#include "core/x86.h"
#include "core/halt.h"
#include "core/log.h"
#include "arch/arch.h"
#include <heisen/defs.h>

#define LAPIC_PAGE 0xfee00000ull
#define ICR_LO 0x300
#define ICR_HI 0x310
#define DM_INIT 5
#define DM_STARTUP 6
#define ICR_LOGICAL (1u << 11)

static u8 icr_shadow[HV_MAX_CPUS][4096] __aligned(4096);
static bool enabled;
static bool trapping;		/* until every AP has had its SIPI */
static u32 aps_started;

void sipi_enable(void)
{
	enabled = trapping = true;
	arch_lapic_trap_enable();
}

bool sipi_enabled(void) { return enabled; }

/* Armed before the BSP's guest may run (core/main.c): armed only once the AP
 * reached sipi_wait, an AP that got there late (one TCG thread round-robin:
 * 100 ms after the BSP's guest) missed a guest's immediate SIPIs, which are
 * ignored for a CPU not in wait-for-SIPI. */
void sipi_arm(struct percpu *c)
{
	__atomic_store_n(&c->vcpu.sipi.state, SIPI_WAITING, __ATOMIC_RELEASE);
	trace_ap_wait(c->index);
}

u8 sipi_wait(struct percpu *c)
{
	struct vcpu *v = &c->vcpu;
	u32 start;
	/* Halted, so the waiting vCPU's host thread sleeps (spinning, three APs
	 * took a core's worth of CPU each from a booting Linux: make
	 * bench-linux), woken every 100 us to look.  NMIs stay enabled: a
	 * quiesce stops this CPU in host_nmi() as anywhere. */
	while (!((start = __atomic_load_n(&v->sipi.start, __ATOMIC_ACQUIRE)) & 0x100))
		halt_for(100000, false);
	__atomic_store_n(&v->sipi.state, SIPI_RUNNING, __ATOMIC_RELEASE);
	trace_ap_start(start & 0xff, (u64)(start & 0xff) << 12);
	return (u8)start;
}

/* A SIPI for CPU `cpu`: starts it if it waits, else ignored, as the hardware
 * ignores a SIPI to a CPU that is not in wait-for-SIPI. */
static u32 sipi_to(u32 cpu, u8 vector)
{
	struct vcpu *t = &cpu_of(cpu)->vcpu;
	u32 expect = 0;
	if (__atomic_load_n(&t->sipi.state, __ATOMIC_ACQUIRE) != SIPI_WAITING ||
	    !__atomic_compare_exchange_n(&t->sipi.start, &expect, 0x100u | vector, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return TRACE_ICR_WRITE_ACTION_SIPI_IGNORED;
	if (__atomic_add_fetch(&aps_started, 1, __ATOMIC_ACQ_REL) == hv_ncpus - 1)
		__atomic_store_n(&trapping, false, __ATOMIC_RELEASE);
	return TRACE_ICR_WRITE_ACTION_SIPI_STARTED;
}

static bool is_target(u32 cpu, u32 self, u32 shorthand, u32 dest)
{
	switch (shorthand) {
	case 0: return cpu_of(cpu)->apic_id == dest;
	case 1: return cpu == self;
	case 2: return true;
	default: return cpu != self;
	}
}

static void icr_write(struct vcpu *v, u32 lo)
{
	u32 dest = lapic_icr_hi() >> 24, mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
	if (mode != DM_INIT && mode != DM_STARTUP) {
		lapic_icr_forward(lo);
		trace_icr_write(lo, dest, TRACE_ICR_WRITE_ACTION_FORWARDED);
		return;
	}
	if ((lo & ICR_LOGICAL) && shorthand == 0) {
		/* Logical destinations for INIT/SIPI: no OS we host uses them. */
		hv_printf("cpu %u: INIT/SIPI with a logical destination (icr %x) not virtualized: dropped\n",
			  v->cpu, lo);
		trace_icr_write(lo, dest, TRACE_ICR_WRITE_ACTION_UNSUPPORTED);
		return;
	}
	for (u32 cpu = 0; cpu < hv_ncpus; cpu++) {
		if (!is_target(cpu, v->cpu, shorthand, dest))
			continue;
		/* INIT: the AP already waits for its SIPI in the hypervisor. */
		u32 action = mode == DM_INIT ? TRACE_ICR_WRITE_ACTION_INIT_DROPPED : sipi_to(cpu, (u8)lo);
		trace_icr_write(lo, cpu_of(cpu)->apic_id, action);
	}
}

bool sipi_npf(struct vcpu *v, u64 gpa, bool write)
{
	if (!enabled || (gpa & ~0xfffull) != LAPIC_PAGE)
		return false;
	if (!__atomic_load_n(&trapping, __ATOMIC_ACQUIRE) || !write) {
		arch_lapic_map(v, LAPIC_MAP_REAL, 0);	/* for good: the trap is over */
		return true;
	}
	if ((gpa & 0xff0) == ICR_LO) {
		u32 *shadow = (u32 *)icr_shadow[v->cpu];
		shadow[ICR_LO / 4] = lapic_icr_lo();
		shadow[ICR_HI / 4] = lapic_icr_hi();
		arch_lapic_map(v, LAPIC_MAP_SHADOW, (u64)icr_shadow[v->cpu]);
		v->sipi.step = SIPI_STEP_SHADOW;
	} else {
		arch_lapic_map(v, LAPIC_MAP_REAL, 0);
		v->sipi.step = SIPI_STEP_REAL;
	}
	arch_hold_interrupts(v, true);
	arch_single_step_for(v, STEP_LAPIC, true);
	return true;
}

bool sipi_after_step(struct vcpu *v)
{
	u32 step = v->sipi.step;
	if (!step)
		return false;
	v->sipi.step = 0;
	arch_single_step_for(v, STEP_LAPIC, false);
	arch_hold_interrupts(v, false);
	bool still = __atomic_load_n(&trapping, __ATOMIC_ACQUIRE);
	arch_lapic_map(v, still ? LAPIC_MAP_TRAP_WRITES : LAPIC_MAP_REAL, 0);
	if (step == SIPI_STEP_SHADOW)
		icr_write(v, ((volatile u32 *)icr_shadow[v->cpu])[ICR_LO / 4]);
	return true;
}
