/* Interim console until trace/ lands: formats a line, then writes it to the
 * serial port under a bounded trylock (never an unbounded wait: after the
 * bound it writes anyway and lines may interleave). */
#include <stdarg.h>
#include "core/log.h"
#include "core/serial.h"

struct outbuf {
	char *p, *end;
};

static void out(struct outbuf *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
}

static void put_num(struct outbuf *o, u64 v, unsigned base, int width, char pad, bool neg)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (n < width)
		buf[n++] = pad;
	while (n)
		out(o, buf[--n]);
}

static u32 line_lock;

void hv_printf(const char *fmt, ...)
{
	char line[256];
	struct outbuf o = { line, line + sizeof(line) };
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			lng++, fmt++;
		switch (*fmt) {
		case 'd': {
			s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
			put_num(&o, v < 0 ? -(u64)v : (u64)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, false);
			break;
		case 'x':
			put_num(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, false);
			break;
		case 'p':
			put_num(&o, (u64)va_arg(ap, void *), 16, 16, '0', false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (*s)
				out(&o, *s++);
			break;
		}
		case 'c':
			out(&o, (char)va_arg(ap, int));
			break;
		default:
			out(&o, *fmt);
		}
	}
	va_end(ap);
	u64 n = (u64)(o.p - line);
	u32 tries = 0;
	while (__atomic_exchange_n(&line_lock, 1, __ATOMIC_ACQUIRE) && ++tries < 100000)
		__asm__ __volatile__("pause");
	for (u64 i = 0; i < n; i++)
		serial_putc((u8)line[i]);
	__atomic_store_n(&line_lock, 0, __ATOMIC_RELEASE);
}
