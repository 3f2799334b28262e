/* Every hypapp, in the order the core asks them about a nested page fault. */
#include "hypapps/hypapps.h"

const struct hypapp *const hypapps[] = { &test_hypapp, &pal_hypapp };
const u32 hypapps_count = ARRAY_SIZE(hypapps);
