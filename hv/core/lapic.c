/* xAPIC (MMIO at 0xFEE00000; TCG 7.2 has no x2APIC). Intel SDM vol. 3, ch. 11. */
#include "core/lapic.h"
#include "core/x86.h"

#define LAPIC_BASE 0xfee00000ul
#define LAPIC_ID 0x020
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_IRR 0x200		/* 8 registers 16 bytes apart, 32 vectors each */
#define WAKEUP_VECTOR 0xef	/* any of 32..255: hv/core/idt_stubs.S wakeup_stub */
#define ICR_PENDING (1u << 12)

static inline volatile u32 *reg(u32 off) { return (volatile u32 *)(LAPIC_BASE + off); }

u32 lapic_id(void) { return *reg(LAPIC_ID) >> 24; }

/*
 * Software-enable the APIC (after INIT an AP's SVR has bit 8 clear, and LVT
 * mask bits cannot be cleared until it is set) and program LINT1 as NMI,
 * unmasked: QMP inject-nmi raises LINT1 on every CPU, but firmware only
 * programs the BSP's (notes: "NMIs").  LINT0 (ExtINT) is masked: nothing
 * in Heisenvisor takes external interrupts.
 */
static void software_enable(void) { *reg(LAPIC_SVR) = 0x1ff; }

void lapic_init_this_cpu(void)
{
	software_enable();
	*reg(LAPIC_LVT_LINT0) = 0x10000;
	*reg(LAPIC_LVT_LINT1) = 0x400;
}

/*
 * An OS finds the local interrupt lines as the firmware leaves them: on the
 * BSP, LINT0 ExtINT (the 8259's line; Linux with it masked died at its first
 * sti in 11 of 38 boots, docs/platform.md G4) and LINT1 NMI; on an AP,
 * both masked, their state after INIT.  So QMP's LINT1 NMIs reach an AP
 * neither while it waits for its SIPI nor later (Linux keeps LINT1 masked
 * on APs): an NMI held for an AP until its OS could take it would reach a
 * CPU that Linux has not yet marked online, and Linux drops those uncounted.
 * An AP of an OS guest therefore never unmasks LINT1 at all: it calls this
 * instead of lapic_init_this_cpu(), not after it -- in the few instructions
 * between the two a QMP NMI reached CPU 1, was held until Linux's AP code ran
 * and was dropped there (hypervisor 1 injected, Linux 0 counted: one
 * linux-test4 run in about 170 runs of a Linux soak).
 */
void lapic_init_for_os(bool bsp)
{
	software_enable();
	*reg(LAPIC_LVT_LINT0) = bsp ? 0x700 : 0x10700;
	*reg(LAPIC_LVT_LINT1) = bsp ? 0x400 : 0x10400;
}

/*
 * Safe to call from an NMI handler that interrupted another icr_send on this
 * CPU (hv/core/chaos.c sends NMIs from perturbation points, some of them in
 * the host NMI handler).  The xAPIC's ICR is two registers written in turn
 * (SDM 11.6.1), so the race is: the interrupted send has written ICR_HI
 * (its destination) but not yet ICR_LO (the write that sends).  This send
 * therefore restores the ICR_HI it found, and waits until its own IPI has
 * left, so the interrupted send resumes with its destination intact and an
 * idle ICR.  The same holds for the guest, which owns this xAPIC too
 * (passthrough): an exit between its two ICR writes, at which the hypervisor
 * sends a quiesce or chaos NMI, leaves its destination as it was.
 * Exercised (not proved) by every deterministic run with nmi_every set
 * (tests/determinism, tests/test_zoo.py): an NMI sent to the wrong CPU would
 * leave a quiesce waiting for an ack forever.
 */
static void icr_send(u32 apic_id, u32 lo)
{
	while (*reg(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	u32 interrupted_hi = *reg(LAPIC_ICR_HI);
	*reg(LAPIC_ICR_HI) = apic_id << 24;
	*reg(LAPIC_ICR_LO) = lo;
	while (*reg(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	*reg(LAPIC_ICR_HI) = interrupted_hi;
}

u32 lapic_icr_lo(void) { return *reg(LAPIC_ICR_LO); }
u32 lapic_icr_hi(void) { return *reg(LAPIC_ICR_HI); }

/* The guest's IPI, with the destination it wrote into ICR_HI itself. */
void lapic_icr_forward(u32 lo)
{
	while (*reg(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	*reg(LAPIC_ICR_LO) = lo;
}

void lapic_send_init(u32 apic_id) { icr_send(apic_id, 0x4500); }
void lapic_send_sipi(u32 apic_id, u32 vector) { icr_send(apic_id, 0x4600 | (vector & 0xff)); }
void lapic_send_nmi(u32 apic_id) { icr_send(apic_id, 0x4400); }

/* One-shot timer interrupt after `ticks` (0 cancels): the wakeup of
 * hv/core/chaos.c's seeded yield. */
void lapic_timer_oneshot(u32 ticks)
{
	*reg(LAPIC_TIMER_DIV) = 0xb;		/* divide by 1 */
	*reg(LAPIC_LVT_TIMER) = WAKEUP_VECTOR;	/* one-shot, unmasked */
	*reg(LAPIC_TIMER_INIT) = ticks;
}

/* The timer's interrupt has been raised and not yet taken (IRR, SDM 11.8.4). */
bool lapic_timer_pending(void)
{
	return *reg(LAPIC_IRR + 0x10 * (WAKEUP_VECTOR / 32)) & (1u << (WAKEUP_VECTOR % 32));
}
