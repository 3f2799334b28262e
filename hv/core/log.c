/* Interim console until trace/ lands: formats to the serial port directly. */
#include <stdarg.h>
#include "core/log.h"
#include "core/serial.h"

static void put_num(u64 v, unsigned base, int width, char pad, bool neg)
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
		serial_putc(buf[--n]);
}

void hv_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
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
			put_num(v < 0 ? -(u64)v : (u64)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, false);
			break;
		case 'x':
			put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, false);
			break;
		case 'p':
			put_num((u64)va_arg(ap, void *), 16, 16, '0', false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (*s)
				serial_putc(*s++);
			break;
		}
		case 'c':
			serial_putc((u8)va_arg(ap, int));
			break;
		default:
			serial_putc(*fmt);
		}
	}
	va_end(ap);
}
