/* The two libc memory functions the guest provides (string.c): GCC may emit
 * calls to them, and guest code may call them; there is no libc. */
#ifndef GUEST_STRING_H
#define GUEST_STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif
