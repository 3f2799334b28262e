/*
 * A memory transport for frames: an append-only byte log in hypervisor memory that
 * the host reads through QEMU's shared RAM file (harness/launch/memlog.py), instead of the
 * UART.  Same frames, same bytes as on the serial port (docs/trace-format.md); only
 * the way out differs.  Under TCG every UART byte is an emulated I/O access plus a
 * write() by QEMU (~1.5 us); an append here is one memcpy.  docs/trace-design.md
 * has the measurement.
 */
#ifndef HEISEN_TRACE_MEMLOG_H
#define HEISEN_TRACE_MEMLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_MEMLOG_MAGIC "HVLOG001"

/*
 * Layout the host reads (little endian): magic, capacity of data[], bytes reserved so
 * far (may pass capacity: what did not fit is `dropped`), bytes dropped, then data.
 */
struct trace_memlog {
	char magic[8];
	uint64_t capacity;
	uint64_t head;
	uint64_t dropped;
	uint8_t data[];
};

/* Makes an empty log of `capacity` data bytes at `log`. */
void trace_memlog_init(struct trace_memlog *log, uint64_t capacity);

/*
 * Appends n bytes as one piece, or nothing if they do not fit (counted in `dropped`;
 * the frame's sequence number then leaves a visible gap).  Safe against a concurrent
 * appender: a panic flush that stole the drain appends while the robbed CPU may still
 * be appending its own frame.  Returns whether the bytes went in.
 */
bool trace_memlog_append(struct trace_memlog *log, const uint8_t *p, size_t n);

#endif
