/*
 * Numbers the entry assembly needs from include/heisen/defs.h, which it
 * cannot #include (the header holds C inline functions).  Defining them here
 * keeps defs/hypercalls.toml and defs/machine.toml the single definition.
 */
#include <stdint.h>
#include <heisen/defs.h>

const uint32_t guest_magic_expected = GUEST_MAGIC;
/* EAX and EBX of REPORT(GUEST_FAIL_BAD_START, cpu, eax seen). */
const uint32_t guest_bad_start_call[2] = { HC_REPORT, GUEST_FAIL_BAD_START };
