/*
 * Per-CPU descriptor tables: a GDT with this CPU's TSS, the TSS's IST stacks
 * (1 = NMI, 2 = #DF, 3 = #MC), and the shared host IDT.  Installed before the
 * first STGI: after every #VMEXIT GIF is 0 and a held NMI is delivered to
 * the host IDT the moment STGI sets it (notes: "NMIs").
 */
#include "core/cpu_init.h"
#include "core/percpu.h"
#include "core/string.h"

#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3
#ifdef BUG_red_zone
/* Zoo: the NMI taken on the interrupted stack (as XMHF's exception stubs
 * did, XMHF64's "Conclusion"), so its frame lands on a leaf function's red zone. */
#define NMI_IST 0
#else
#define NMI_IST IST_NMI
#endif
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x28

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type;
	u16 off_mid;
	u32 off_hi, zero;
} __packed;

static struct idt_gate host_idt[256] __aligned(16);
extern const u64 trap_stub_table[32];
extern const u8 wakeup_stub[];	/* vectors 32..255: hv/core/idt_stubs.S */

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

static void idt_build_once(void)
{
	if (host_idt[0].type)
		return;
	for (int v = 0; v < 256; v++) {
		u64 a = v < 32 ? trap_stub_table[v] : (u64)wakeup_stub;
		host_idt[v] = (struct idt_gate){
			.off_lo = (u16)a, .sel = SEL_CODE,
			.ist = v == 2 ? NMI_IST : v == 8 ? IST_DF : v == 18 ? IST_MC : 0,
			.type = 0x8e,	/* present, DPL 0, 64-bit interrupt gate */
			.off_mid = (u16)(a >> 16), .off_hi = (u32)(a >> 32),
		};
	}
}

void cpu_init_tables(struct percpu *c)
{
	c->gdt[0] = 0;
	c->gdt[1] = 0x00AF9A000000FFFFull;	/* 0x08 code64 */
	c->gdt[2] = 0x00CF92000000FFFFull;	/* 0x10 data */
	c->gdt[3] = 0x00CF9A000000FFFFull;	/* 0x18 code32 */
	c->gdt[4] = 0;
	u64 tss = (u64)&c->tss, lim = sizeof(c->tss) - 1;
	c->gdt[5] = (lim & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |
		    ((tss >> 24 & 0xff) << 56);
	c->gdt[6] = tss >> 32;
	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.ist[IST_NMI - 1] = (u64)c->nmi_stack + sizeof(c->nmi_stack);
	c->tss.ist[IST_DF - 1] = (u64)c->df_stack + sizeof(c->df_stack);
	c->tss.ist[IST_MC - 1] = (u64)c->mc_stack + sizeof(c->mc_stack);
	c->tss.iomap_base = sizeof(c->tss);

	idt_build_once();
	struct desc_ptr g = { sizeof(c->gdt) - 1, (u64)c->gdt };
	struct desc_ptr i = { sizeof(host_idt) - 1, (u64)host_idt };
	__asm__ __volatile__(
		"lgdt %0\n\t"
		"pushq %2\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"mov %3, %%ax\n\t"
		"mov %%ax, %%ds\n\t"
		"mov %%ax, %%es\n\t"
		"mov %%ax, %%ss\n\t"
		"mov %4, %%ax\n\t"
		"ltr %%ax\n\t"
		"lidt %1"
		:: "m"(g), "m"(i), "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS) : "rax", "memory");
}
