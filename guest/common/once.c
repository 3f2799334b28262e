/* First-arriver initialisation: every CPU enters the guest at the same point. */
#include "once.h"

enum { ONCE_NEW = 0, ONCE_RUNNING = 1, ONCE_DONE = 2 };

void run_once(volatile uint32_t *state, void (*fn)(void))
{
	uint32_t expected = ONCE_NEW;

	if (__atomic_compare_exchange_n(state, &expected, ONCE_RUNNING, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		fn();
		/* Release: the tables fn wrote are visible before DONE is. */
		__atomic_store_n(state, ONCE_DONE, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(state, __ATOMIC_ACQUIRE) != ONCE_DONE)
		__builtin_ia32_pause();
}
