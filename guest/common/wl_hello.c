/* hello: each CPU reports in; HELLO returns the caller's CPU index. */
#include <heisen/defs.h>
#include "hypercall.h"
#include "workloads.h"

struct verdict wl_hello(struct guest_cpu *c, int has_arg, uint64_t arg)
{
	uintptr_t r = hypercall_hello(c->index);

	(void)has_arg;
	(void)arg;
	if (r != c->index)
		return (struct verdict){ GUEST_FAIL_BAD_RESULT, 1, r };
	return (struct verdict){ 0, 1, 0 };
}
