/*
 * The asynchronous in-machine NMI source, `nmi_edu=U` (docs/determinism.md,
 * "Device NMIs").  Every other deterministic-mode NMI is sent by a CPU at one of
 * its own exits or chaos_spin points (chaos.c), so none lands in the middle of a
 * long stretch of hypervisor code that neither exits nor spins -- TEST's sleep,
 * where XMHF64's red-zone clobber strikes.  QMP inject-nmi lands there all the
 * time, but the host times it.
 *
 * The source is QEMU's "edu" PCI device (hw/misc/edu.c, 1234:11e8; Linux has no
 * driver for it).  A DMA it is told to start completes 100 ms later on
 * QEMU_CLOCK_VIRTUAL -- under icount a pure function of the instructions
 * executed -- and then raises its MSI, which the hypervisor has programmed as an
 * NMI to one CPU: whatever that CPU executes at that instruction count is
 * interrupted, in guest or in host mode.  host_nmi() finds no quiesce signal
 * in it and the NMI goes to the guest, counted as injected like any external NMI.
 *
 * Why not QEMU's watchdogs (i6300esb, ib700) with `-action watchdog=inject-nmi`,
 * which deliver exactly QMP's NMI: each expiry emits the QMP WATCHDOG event, whose
 * rate limit arms a QEMU_CLOCK_REALTIME timer, and icount's budget stops at
 * realtime deadlines too (icount_get_limit): the round robin then switches vCPUs
 * at host-timed points: two runs of linux-zoo-sleep-nmi, seed 1, first differed
 * at 5.72 virtual seconds.
 *
 * CPU 0 re-arms it at its exit tails, a seed-drawn 0..2U us after the last DMA
 * completed; the target is CPU 0 for an OS (it keeps LINT1 masked on its APs, so
 * QMP's NMIs reach only the BSP, and Linux drops uncounted an NMI at a CPU not yet
 * online) and a seed-chosen CPU for guest/'s kernels.  Only CPU 0 touches the
 * device: the config address latch (0xCF8) is one for the machine, and one owner
 * needs no lock.  The latch is restored after each access, as the exit may have
 * come between a guest's 0xCF8 write and its 0xCFC access.  MSI is programmed
 * again at every arm: Linux turns every device's MSI off while it enumerates PCI
 * (pci_msi_init), and a DMA completing then raises INTx instead -- on a line
 * no driver has, acked at the next arm.
 */
#include "core/nmi_edu.h"
#include "core/chaos.h"
#include "core/cmdline.h"
#include "core/log.h"
#include "core/panic.h"
#include "core/percpu.h"
#include "core/tsc.h"
#include "core/x86.h"
#include <heisen/defs.h>

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define PCI_ENABLE (1u << 31)
#define PCI_ID_EDU 0x11e81234u
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4			/* the MSI is a memory write by the device */
#define PCI_STATUS_CAPS (1u << (16 + 4))	/* in the COMMAND dword */
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_CAP_MSI 0x05
#define MSI_ENABLE 0x1
#define MSI_64BIT 0x80
#define MSI_ADDR 0xfee00000u			/* physical destination in bits 19:12 */
#define MSI_DATA_NMI 0x0400u			/* delivery mode 100b, edge */
#define EDU_ACK_IRQ 0x64
#define EDU_DMA_IRQ 0x100
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_RUN 0x1
#define EDU_DMA_RAISE 0x4			/* direction 0: memory -> device buffer */
#define EDU_BUFFER 0x40000			/* the device's own 4 KiB buffer */
#define EDU_DMA_MS 100				/* hw/misc/edu.c dma_rw: now + 100 ms */

static u64 mean_us;
static u32 cfg;				/* PCI_ENABLE | bus 0, dev << 11 */
static u32 msi;				/* the MSI capability's config offset */
static volatile u8 *bar;
static u64 stream;
static u64 due_tsc;
static u64 arms;
static bool os_guest;

static void cfg_select(u32 off) { outl(PCI_ADDR, cfg | (off & 0xfc)); }

static u32 cfg_read32(u32 off)
{
	u32 latch = inl(PCI_ADDR);
	cfg_select(off);
	u32 v = inl(PCI_DATA);
	outl(PCI_ADDR, latch);
	return v;
}

static void cfg_write32(u32 off, u32 v)
{
	u32 latch = inl(PCI_ADDR);
	cfg_select(off);
	outl(PCI_DATA, v);
	outl(PCI_ADDR, latch);
}

static void cfg_write16(u32 off, u16 v)
{
	u32 latch = inl(PCI_ADDR);
	cfg_select(off);
	outw((u16)(PCI_DATA + (off & 2)), v);
	outl(PCI_ADDR, latch);
}

/* The device ignores MMIO narrower than 4 bytes. */
static u32 reg_read(u32 off) { return *(volatile u32 *)(bar + off); }
static void reg_write(u32 off, u32 v) { *(volatile u32 *)(bar + off) = v; }

static u32 find_msi(void)
{
	if (!(cfg_read32(PCI_COMMAND) & PCI_STATUS_CAPS))
		return 0;
	for (u32 p = cfg_read32(PCI_CAP_PTR) & 0xfc, n = 0; p && n < 48; n++) {
		u32 head = cfg_read32(p);
		if ((head & 0xff) == PCI_CAP_MSI)
			return p;
		p = (head >> 8) & 0xfc;
	}
	return 0;
}

void nmi_edu_init(const struct hv_options *o, bool os)
{
	mean_us = o->nmi_edu;
	os_guest = os;
	if (!mean_us)
		return;
	u32 dev = 0;
	for (; dev < 32; dev++) {
		cfg = PCI_ENABLE | dev << 11;
		if (cfg_read32(0) == PCI_ID_EDU)
			break;
	}
	if (dev == 32)
		hv_panic(mean_us, 0, 0, "nmi_edu: no edu device on PCI bus 0 (QEMU -device edu)");
	u32 base = cfg_read32(PCI_BAR0) & ~0xfu;
	msi = find_msi();
	if (!base || !msi)
		hv_panic(base, msi, 0, "nmi_edu: the edu device has no BAR0 or no MSI capability");
	bar = (volatile u8 *)(u64)base;	/* the low 4 GiB are identity-mapped (entry32.S) */
	stream = chaos_stream(0x656475u);
	hv_printf("nmi_edu: edu at 00:%02x.0, BAR0 %x, MSI at %x, gap mean %lu us\n", dev, base, msi, mean_us);
}

/* SeaBIOS maps the BAR but leaves bus mastering off, and QEMU drops the MSI
 * write of a device that is not a bus master (its bus_master_as). */
static void program_msi(u32 apic_id)
{
	cfg_write16(PCI_COMMAND, (u16)(cfg_read32(PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	u32 ctl = cfg_read32(msi) >> 16;
	cfg_write32(msi + 4, MSI_ADDR | apic_id << 12);
	if (ctl & MSI_64BIT) {
		cfg_write32(msi + 8, 0);
		cfg_write16(msi + 12, MSI_DATA_NMI);
	} else {
		cfg_write16(msi + 8, MSI_DATA_NMI);
	}
	cfg_write16(msi + 2, (u16)(ctl | MSI_ENABLE));
}

void nmi_edu_exit_point(struct percpu *c)
{
	if (!mean_us || c->index != 0)
		return;
	u64 now = rdtsc();
	if (now < due_tsc)
		return;
	/* Not yet completed (the TSC and QEMU's millisecond-rounded virtual clock
	 * need not agree to the tick): look again at the next exit. */
	if (reg_read(EDU_DMA_CMD) & EDU_DMA_RUN)
		return;
	u64 r = chaos_next(&stream);
	u32 target = os_guest ? 0 : (u32)((r >> 40) % hv_ncpus);
	u64 gap_us = (r & 0xffffffffu) % (2 * mean_us + 1);
	program_msi(cpu_of(target)->apic_id);
	reg_write(EDU_ACK_IRQ, EDU_DMA_IRQ);
	reg_write(EDU_DMA_SRC, 0);
	reg_write(EDU_DMA_DST, EDU_BUFFER);
	reg_write(EDU_DMA_CNT, 4);
	reg_write(EDU_DMA_CMD, EDU_DMA_RUN | EDU_DMA_RAISE);
	due_tsc = now + (EDU_DMA_MS * 1000 + gap_us) * tsc_khz / 1000;
	trace_nmi_edu(target, gap_us, ++arms);
}
