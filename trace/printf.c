/*
 * A tiny freestanding formatter for trace_printf (no libc in the hypervisor).
 * It only writes into the caller's buffer, so it is reentrant: an NMI handler may
 * printf while the code it interrupted is in the middle of a printf.
 */
#include "printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"

struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len < o->cap)
		o->buf[o->len++] = c;
}

static void put_padded(struct out *o, const char *s, size_t n, unsigned width, bool left, char pad)
{
	size_t fill = width > n ? width - n : 0;
	if (!left)
		while (fill--)
			put(o, pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		while (fill--)
			put(o, ' ');
}

static void put_number(struct out *o, uint64_t v, bool negative, unsigned base, bool upper, unsigned width,
		       bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	if (negative && zero && !left) {
		/* "-0042": the sign goes before the zero padding */
		put(o, '-');
		put_padded(o, tmp + sizeof(tmp) - n, n, width > 0 ? width - 1 : 0, false, '0');
		return;
	}
	if (negative)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	put_padded(o, tmp + sizeof(tmp) - n, n, width, left, zero && !left ? '0' : ' ');
}

size_t trace_vformat(char *buf, size_t cap, const char *fmt, __builtin_va_list ap)
{
	struct out o = { buf, cap, 0 };
	while (*fmt) {
		const char *start = fmt;
		bool left = false, zero = false;
		unsigned width = 0, longs = 0;
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9' && width < 1000)
			width = width * 10 + (unsigned)(*fmt++ - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			longs = *fmt == 'z' ? 1 : longs + 1;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs ? __builtin_va_arg(ap, long long) : __builtin_va_arg(ap, int);
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			put_number(&o, mag, v < 0, 10, false, width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs ? __builtin_va_arg(ap, unsigned long long) : __builtin_va_arg(ap, unsigned int);
			put_number(&o, v, false, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, left, zero);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (uint64_t)(uintptr_t)__builtin_va_arg(ap, void *), false, 16, false,
				   width > 2 ? width - 2 : 0, left, zero);
			break;
		case 'c': {
			char c = (char)__builtin_va_arg(ap, int);
			put_padded(&o, &c, 1, width, left, ' ');
			break;
		}
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			size_t n = 0;
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			put_padded(&o, s, n, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			/* Unknown conversion (or the string ended): copy it through as written. */
			while (start != fmt && *start)
				put(&o, *start++);
			if (*fmt)
				put(&o, *fmt);
			else
				continue;
			break;
		}
		fmt++;
	}
	return o.len;
}

size_t trace_format(char *buf, size_t cap, const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	size_t n = trace_vformat(buf, cap, fmt, ap);
	__builtin_va_end(ap);
	return n;
}

void trace_printf(const char *fmt, ...)
{
	char buf[TRACE_PRINTF_MAX];
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	size_t n = trace_vformat(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	trace_emit_text(buf, n);
}
