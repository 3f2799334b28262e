/*
 * The multiboot test kernel's order of things (docs/multiboot-guest.md):
 * note how the loader left the CPU, optionally send itself an NMI before any
 * IDT exists (early-nmi=1: the hypervisor must hold it), load the IDT, look
 * for the Heisenvisor, check the multiboot information, start every AP with
 * INIT-SIPI-SIPI, report, and end through isa-debug-exit.
 */
#include "kernel.h"

void kmain(uint32_t magic, const struct mb_info *mbi);

static void print_entry_state(uint32_t magic, const struct mb_info *mbi)
{
	const struct entry_state *s = &entry_state;
	kprintf("HEISEN-MB: multiboot test kernel, eax %x, ebx %x, APIC %u\n", magic, (uint32_t)mbi, lapic_id());
	kprintf("entry: eflags %x cr0 %x cs %x ds %x ss %x gdtr %x/%x idtr %x/%x\n", s->eflags, s->cr0, s->cs,
		s->ds, s->ss, s->gdt_base, s->gdt_limit, s->idt_base, s->idt_limit);
}

void kmain(uint32_t magic, const struct mb_info *mbi)
{
	console_init();
	print_entry_state(magic, mbi);
	const char *cmdline = magic == 0x2BADB002u && (mbi->flags & MBI_CMDLINE) ? (const char *)mbi->cmdline : "";
	uint32_t early = 0, cpus = 0, code;
	if (cmdline_value(cmdline, "pass-code", &code))
		pass_code = code;
	if (cmdline_value(cmdline, "early-nmi", &early) && early) {
		/* No IDT of ours yet: delivered now, this NMI would go through the
		 * BIOS's real-mode IVT and triple-fault us. */
		send_self_nmi();
		udelay(1000);
		kprintf("early NMI sent before any IDT: %u received so far\n", nmi_count);
	}
	idt_load();
	heisen_detect();
	kprintf("hypervisor: %s\n", under_heisen ? "Heisenvisor" : "none found");
	mbi_check(magic, mbi);
	cmdline_value(cmdline, "cpus", &cpus);
	smp_start_aps(mbi, cpus);
	kprintf("nmis: %u received\n", nmi_count);
	if (early)
		check(nmi_count == 1, "the early NMI did not arrive exactly once after the IDT", nmi_count, 1);
	heisen_report(0, 1, nmi_count);
	pass();
}
