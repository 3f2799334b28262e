/*
 * LTTng-UST tracepoint provider for the benches.  intercept_enter (bench-trace): the
 * equivalent of our INTERCEPT_ENTER record (exit reason + guest RIP; LTTng adds its own
 * timestamp, as we add the TSC).  intercept (lttng-emit, the CTF trace bench-decoder
 * reads with babeltrace2): a record's whole payload -- the CPU (ours travels in the
 * frame header, LTTng's stream only knows the CPU the emitter ran on), the exit reason,
 * the guest RIP and three 64-bit arguments, as many as our widest record carries.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hv_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng_tp.h"

#if !defined(HEISEN_TRACE_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HEISEN_TRACE_LTTNG_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
	hv_bench, intercept_enter,
	LTTNG_UST_TP_ARGS(uint32_t, reason, uint64_t, rip),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer_hex(uint64_t, rip, rip)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(
	hv_bench, intercept,
	LTTNG_UST_TP_ARGS(uint32_t, cpu, uint32_t, reason, uint64_t, rip, uint64_t, arg0, uint64_t, arg1,
			  uint64_t, arg2),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, cpu, cpu)
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer_hex(uint64_t, rip, rip)
		lttng_ust_field_integer(uint64_t, arg0, arg0)
		lttng_ust_field_integer(uint64_t, arg1, arg1)
		lttng_ust_field_integer(uint64_t, arg2, arg2)
	)
)

#endif

#include <lttng/tracepoint-event.h>
