/* Per-CPU records and the few globals every CPU shares. */
#include "percpu.h"

struct guest_cpu guest_cpus[GUEST_MAX_CPUS];
volatile uint32_t guest_ncpus;
volatile uint32_t guest_online;
