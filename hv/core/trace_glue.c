/* Interim: trace/ has not landed yet; emission is a no-op. */
#include "core/trace_glue.h"
#include "core/types.h"

void trace_emit(unsigned int ev, unsigned long long a0, unsigned long long a1, unsigned long long a2)
{
	(void)ev, (void)a0, (void)a1, (void)a2;
}
void trace_init_cpu(unsigned cpu) { (void)cpu; }
void trace_drain_point(void) {}
void trace_flush_all(void) {}
