#ifndef HV_HYPAPPS_H
#define HV_HYPAPPS_H
/* The hypapps' descriptors, for hv/hypapps/registry.c only: the core sees
 * them through core/hypapp.h. */
#include "core/hypapp.h"
/* XMHF64's TV_HC_TEST (test.c). */
extern const struct hypapp test_hypapp;
/* PAL isolation (pal.c). */
extern const struct hypapp pal_hypapp;
#endif
