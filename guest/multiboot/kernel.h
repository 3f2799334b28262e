/*
 * The project's multiboot test kernel (guest/multiboot/, docs/multiboot-guest.md):
 * what its files share.  32-bit protected mode, paging off, linked at 32 MiB.
 */
#ifndef MB_KERNEL_H
#define MB_KERNEL_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#include "layout.h"

/* The multiboot information (Multiboot 0.6.96, 3.3), the part we read. */
struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* What entry.S saw before it changed anything (main.c prints it). */
struct entry_state {
	uint32_t eflags, cr0;
	uint16_t cs, ds, ss, pad;
	uint16_t gdt_limit;
	uint32_t gdt_base;
	uint16_t idt_limit;
	uint32_t idt_base;
} __attribute__((packed));
extern struct entry_state entry_state;

/* console.c: COM3 (0x3e8), the harness's console file */
void console_init(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* string.c */
size_t kstrlen(const char *s);
int kstrncmp(const char *a, const char *b, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* cmdline.c: `key=value` words of the command line (after the path) */
bool cmdline_value(const char *cmdline, const char *key, uint32_t *out);

/* idt.c */
void idt_load(void);
extern volatile uint32_t nmi_count;
void send_self_nmi(void);

/* heisen.c: the Heisenvisor, when we run under it */
bool heisen_detect(void);
extern bool under_heisen;
void heisen_report(uint32_t status, uint32_t count, uint32_t detail);
uint32_t heisen_info(uint32_t what);

/* mbi.c: the checks on what the loader handed us */
void mbi_check(uint32_t magic, const struct mb_info *mbi);
bool mmap_usable(const struct mb_info *mbi, uint64_t base, uint64_t len);

/* acpi.c: the CPUs' LAPIC IDs from the MADT */
uint32_t acpi_cpus(uint8_t *apic_ids, uint32_t max);

/* smp.c */
void smp_start_aps(const struct mb_info *mbi, uint32_t expect);
void ap_main(uint32_t index);

/* exit.c: the verdict, on the console and through isa-debug-exit */
void __attribute__((noreturn)) pass(void);
void __attribute__((noreturn)) fail(const char *what, uint32_t a, uint32_t b);
void check(bool ok, const char *what, uint32_t a, uint32_t b);
extern uint32_t pass_code;

/* lapic.c */
uint32_t lapic_id(void);
void lapic_icr(uint32_t dest, uint32_t lo);
void udelay(uint32_t us);

static inline void outb(uint16_t port, uint8_t v) { __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ __volatile__("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }

/* A physical address as a pointer (paging is off), hidden from the
 * compiler's idea of object bounds (low constants look like NULL + n). */
static inline void *phys(uint32_t pa)
{
	void *p;
	__asm__("" : "=r"(p) : "0"(pa));
	return p;
}

/* The linker script's image bounds. */
extern char _image_start[], _image_end[];
#endif
