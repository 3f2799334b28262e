/*
 * Boot: the BSP parses multiboot and ACPI, loads the guest, sets up the
 * shared virtualization structures, starts the APs, and then every CPU
 * (BSP included) enables virtualization and runs its guest forever.
 */
#include "core/percpu.h"
#include "core/cpu_init.h"
#include "core/multiboot.h"
#include "core/acpi.h"
#include "core/lapic.h"
#include "core/smp.h"
#include "core/cmdline.h"
#include "core/event_test.h"
#include "core/guest_loader.h"
#include "core/memory.h"
#include "core/serial.h"
#include "core/string.h"
#include "core/log.h"
#include "core/panic.h"
#include "core/trace_glue.h"
#include "drain.h"
#include "core/x86.h"
#include "core/chaos.h"
#include "core/nmi_edu.h"
#include "core/tsc.h"
#include "core/sipi.h"
#include "arch/arch.h"
#include <heisen/defs.h>

struct percpu percpu_area[HV_MAX_CPUS];
u32 hv_ncpus;
static struct boot_info boot;
static struct guest_image guest;
static struct hv_options options;	/* parsed once; consumers and the OPTIONS record read it */
static u32 guests_started;

void smp_ap_alive(void);
void ap_main(void);
void hv_main(u32 magic, u32 info);

static void mask_legacy_pic(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* Where each kind of guest starts, and with what in its registers. */
static struct guest_entry guest_entry_for(const struct percpu *c)
{
	if (guest.kind == GUEST_LINUX)
		/* boot.rst, "32-bit Boot Protocol": CS = __BOOT_CS (0x10), DS = ES
		 * = SS = __BOOT_DS (0x18), ESI = the zero page, EBX/EBP/EDI 0. */
		return (struct guest_entry){ .rip = guest.entry, .esi = guest.esi, .cs = 0x10, .ds = 0x18,
					     .gdt_limit = 0xffff, .idt_limit = 0xffff };
	if (guest.kind == GUEST_MULTIBOOT)
		/* Multiboot 0.6.96, 3.2 "Machine state", as QEMU's -kernel leaves
		 * it (pc-bios/optionrom/multiboot.S): EAX = 0x2BADB002, EBX = the
		 * information, CS 0x08 / DS = ES = SS 0x10 flat in its GDT, IF = 0,
		 * paging off; the IDTR still the BIOS's real-mode one. */
		return (struct guest_entry){ .rip = guest.entry, .eax = MULTIBOOT_BOOTLOADER_MAGIC,
					     .ebx = guest.ebx, .cs = 0x08, .ds = 0x10, .gdt_base = guest.gdt_base,
					     .gdt_limit = guest.gdt_limit, .idt_limit = 0x3ff };
	return (struct guest_entry){ .rip = guest.entry, .eax = GUEST_MAGIC, .ebx = c->index,
				     .ecx = hv_ncpus, .cs = 0x08, .ds = 0x10, .gdt_limit = 0xffff,
				     .idt_limit = 0xffff };
}

/* An OS guest: it owns the machine's interrupts and starts its own APs. */
static bool guest_is_os(void)
{
	return guest.kind == GUEST_LINUX || guest.kind == GUEST_MULTIBOOT;
}

/*
 * Boot makes no exits, and exits are where the rings drain: without this,
 * a boot's first bytes reached the serial port only after the first guest
 * exit, ~30 M instructions in at -smp 2 under icount, close to the 5 s of
 * virtual-time silence the harness's hang watch calls a hang (a correct
 * smoke run was called hung when its two vCPUs' turns fell later).  Each
 * milestone sends what boot has said so far.
 */
static void boot_milestone(void)
{
	trace_drain_all();
}

static void __noreturn cpu_run_guest(struct percpu *c)
{
	if (guest_is_os())
		lapic_init_for_os(c->index == 0);	/* never LINT1 unmasked on its APs (lapic.c) */
	else
		lapic_init_this_cpu();
	chaos_cpu_init(c);
	arch_cpu_enable(c);
	struct vcpu *v = &c->vcpu;
	v->cpu = c->index;
	v->nmi.ready_by_idt = guest.kind == GUEST_LINUX;
	v->nmi.ready_by_lidt = guest.kind == GUEST_MULTIBOOT;
	v->guest_mode = guest.mode;
	u32 len;
	const char *wl = cmdline_workload(boot.cmdline, c->index, &len);
	if (len >= sizeof(v->workload))
		len = sizeof(v->workload) - 1;
	memcpy(v->workload, wl, len);
	v->workload[len] = 0;
	v->workload_len = len;
	trace_cpu_up(c->apic_id, c->index);
	if (sipi_enabled() && c->index != 0)
		sipi_arm(c);	/* before the guest on the BSP can send its SIPIs */
	/* No guest runs before every CPU can be stopped: a quiesce (the
	 * guest's first hypercall may ask for one) waits for every CPU's ack. */
	if (__atomic_add_fetch(&guests_started, 1, __ATOMIC_ACQ_REL) == hv_ncpus) {
		hv_printf("all %u guests running\n", hv_ncpus);
		boot_milestone();
	}
	while (__atomic_load_n(&guests_started, __ATOMIC_ACQUIRE) < hv_ncpus)
		cpu_relax();
	if (sipi_enabled() && c->index != 0) {
		u8 vector = sipi_wait(c);
		arch_vcpu_init_sipi(c, vector);
		trace_guest_start((u64)vector << 12, 16);
	} else {
		struct guest_entry e = guest_entry_for(c);
		arch_vcpu_init(c, &e);
		trace_guest_start(guest.entry, guest.mode);
	}
	/* The IDTR it starts with is not its own (core/nmi_virt.c). */
	v->nmi.entry_idt_base = arch_guest_idt_base(v);
	v->nmi.entry_idt_limit = arch_guest_idt_limit(v);
	arch_vcpu_run(c);
}

void ap_main(void)
{
	struct percpu *c = this_cpu();
	cpu_init_tables(c);
	trace_init_cpu(c->index);
	smp_ap_alive();
	cpu_run_guest(c);
}

/* A command line the hypervisor cannot act on exactly as written stops the
 * machine with the word and the reason (cmdline.c). */
static void check_cmdline(u32 ncpus)
{
	struct cmdline_error e;
	if (cmdline_check(boot.cmdline, ncpus, &e))
		return;
	char word[CMDLINE_VALUE_MAX + 1];
	u32 n = e.word_len < sizeof(word) - 1 ? e.word_len : (u32)sizeof(word) - 1;
	memcpy(word, e.word, n);
	word[n] = 0;
	hv_printf("cmdline: '%s%s': %s\n", word, n < e.word_len ? "..." : "", e.why);
	hv_panic(e.word_len, ncpus, 0, "bad hypervisor command line");
}

void hv_main(u32 magic, u32 info)
{
	struct percpu *c = this_cpu();
	serial_init();
	cpu_init_tables(c);
	lapic_init_this_cpu();	/* IDT is in: NMIs may come */
	trace_init_cpu(0);
	multiboot_parse(magic, info, &boot);
	check_cmdline(HV_MAX_CPUS);
	hv_options_parse(boot.cmdline, &options);
	chaos_init(&options);
	event_test_init(&options);
	trace_set_mode(&options);
	hv_printf("Heisenvisor: cmdline '%s', %lu KiB above 1 MiB\n", boot.cmdline, boot.mem_upper_kb);

	const char *why = arch_unsupported_reason();
	if (why)
		hv_panic(0, 0, 0, why);

	u32 apic_ids[HV_MAX_CPUS];
	hv_ncpus = acpi_find_cpus(apic_ids, HV_MAX_CPUS);
	u32 bsp = lapic_id();
	for (u32 i = 0; i < hv_ncpus; i++)	/* the BSP is CPU 0 */
		if (apic_ids[i] == bsp) {
			apic_ids[i] = apic_ids[0];
			apic_ids[0] = bsp;
		}
	check_cmdline(hv_ncpus);	/* now that the CPU count is known: wlN= */
	c->index = 0;
	c->apic_id = bsp;
	tsc_calibrate();
#ifdef TRACE_OFF
	trace_boot(hv_ncpus, tsc_khz, 0);
#else
	trace_boot(hv_ncpus, tsc_khz, 1);
#endif
	/* What this machine runs with, for the harness to hold against what it
	 * sent: a -append it did not write, or a parser that read a key wrong,
	 * would otherwise run silently as another schedule (docs/harness.md). */
	trace_options(options.seed, options.nmi_every, hv_options_flags(&options));
	boot_milestone();

	if (boot.nmods < 1)
		hv_panic(0, 0, 0, "no guest module (QEMU -initrd guestNN.elf)");
	memory_set_guest_ram_end(0x100000 + boot.mem_upper_kb * 1024);
	guest_load(&boot, hv_mem_start(), hv_mem_end(), &guest);
	/* An OS starts its own APs with INIT and SIPI: they wait for it in the
	 * hypervisor (core/sipi.c). */
	if (guest_is_os() && hv_ncpus > 1)
		sipi_enable();
	if (guest_is_os())
		chaos_guest_owns_interrupts();
	nmi_edu_init(&options, guest_is_os());
	/* A multiboot kernel ends the machine by isa-debug-exit with its own
	 * code: the hypervisor records it first (core/guest_exit.c). */
	if (guest.kind == GUEST_MULTIBOOT)
		arch_io_intercept(DEBUG_EXIT_PORT, 4);
	hv_printf("guest: %u-bit, entry %lx, [%lx, %lx); %u CPUs\n", guest.mode, guest.entry, guest.lo,
		  guest.hi, hv_ncpus);
	boot_milestone();

	arch_rdtsc_exit(options.rdtsc_exit);
	mask_legacy_pic();
	arch_global_init(hv_mem_start(), hv_mem_end());
	smp_start_aps(apic_ids, hv_ncpus);
	cpu_run_guest(c);
}
