/* trace-off-check (trace.mk): with TRACE_OFF the generated emitters must compile to nothing. */
#include "heisen/defs.h"

void probe(unsigned long long rip, unsigned long long arg);
void probe(unsigned long long rip, unsigned long long arg)
{
	trace_intercept_enter(0x81, rip);
	trace_hypercall(HC_TEST, arg, hc_test_checksum(arg, 0));
	trace_intercept_leave(0x81);
}
