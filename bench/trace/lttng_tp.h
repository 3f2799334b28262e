/*
 * LTTng-UST tracepoint provider for bench-trace: the equivalent of our INTERCEPT_ENTER
 * record (exit reason + guest RIP; LTTng adds its own timestamp, as we add the TSC).
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

#endif

#include <lttng/tracepoint-event.h>
