/* The hypervisor side of trace/: ring placement and drain points. */
#ifndef HV_TRACE_GLUE_H
#define HV_TRACE_GLUE_H
#include <heisen/defs.h>
struct hv_options;
void trace_init_cpu(unsigned cpu);
/* `trace=record`: no streaming from exit handlers (trace_glue.c). */
void trace_set_mode(const struct hv_options *o);
/* Drain whatever is committed, if no other CPU is draining (never waits). */
void trace_drain_point(void);
/* Exit-handler context only: wait (bounded) until this CPU's ring is drained. */
void trace_make_room(void);
/* Panic/exit path: flush everything even if another CPU holds the drain. */
void trace_flush_all(void);
#endif
