/*
 * The console: COM3 (0x3e8), which the harness writes to console.txt
 * (harness/launch/machine.py console_path); the hypervisor's trace owns COM1.  A
 * small printf (%s %c %u %d %x, width/zero-pad ignored but for %08x-style
 * hex) under a lock, so that CPUs do not interleave inside a line.
 */
#include <stdarg.h>
#include "kernel.h"

#define COM3 0x3e8
static volatile uint32_t lock;

void console_init(void)
{
	outb(COM3 + 1, 0x00);		/* no interrupts */
	outb(COM3 + 3, 0x80);		/* DLAB */
	outb(COM3 + 0, 0x01);		/* 115200 baud */
	outb(COM3 + 1, 0x00);
	outb(COM3 + 3, 0x03);		/* 8N1 */
	outb(COM3 + 2, 0xc7);		/* FIFO on */
}

static void putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM3 + 5) & 0x20); i++)
		cpu_relax();
	outb(COM3, (uint8_t)c);
}

static void put_number(uint64_t v, unsigned base, int width)
{
	char buf[24];
	int n = 0;
	/* No libgcc: 64-bit values only in hex (shifts), decimal in 32 bits. */
	uint32_t d = (uint32_t)v;
	do {
		if (base == 16) {
			buf[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} else {
			buf[n++] = (char)('0' + d % 10);
			d /= 10;
		}
	} while (base == 16 ? v != 0 : d != 0);
	while (n < width)
		buf[n++] = '0';
	while (n)
		putc(buf[--n]);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			if (*p == '\n')
				putc('\r');
			putc(*p);
			continue;
		}
		int width = 0, longlong = 0;
		while (p[1] >= '0' && p[1] <= '9')
			width = width * 10 + (*++p - '0');
		while (p[1] == 'l')
			longlong++, p++;
		switch (*++p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				putc(*s);
			break;
		}
		case 'c':
			putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0)
				putc('-'), v = -v;
			put_number((uint32_t)v, 10, width);
			break;
		}
		case 'u':
			put_number(longlong >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 10, width);
			break;
		case 'x':
			put_number(longlong >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 16, width);
			break;
		case '%':
			putc('%');
			break;
		default:
			putc('?');
		}
	}
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	va_end(ap);
}
