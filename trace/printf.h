/*
 * printf into the trace: the text becomes TEXT records in this CPU's ring, never
 * bytes on the UART, so printing takes no lock and is safe in NMI context (XMHF64's
 * printf lock deadlocked against the quiesce lock).
 */
#ifndef HEISEN_TRACE_PRINTF_H
#define HEISEN_TRACE_PRINTF_H

#include <stddef.h>

/* Longest output of one trace_printf(); longer output is cut (8 TEXT records). */
#define TRACE_PRINTF_MAX 192

/*
 * Conversions: %d %i %u %x %X %p %c %s %%, length modifiers l ll z, flags '0' and
 * '-', a decimal width.  Anything else is copied through literally, so a bad format
 * is visible in the trace rather than a crash.  Returns the bytes formatted (<= cap).
 */
size_t trace_vformat(char *buf, size_t cap, const char *fmt, __builtin_va_list ap);
size_t trace_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
