/*
 * memset/memcpy: GCC may emit calls to them even in freestanding code
 * (struct copies and initialisers), and there is no libc.  Written with
 * rep stos/movs because a plain C loop here can be "optimised" by GCC into
 * a call to the very function being defined.
 */
#include "string.h"

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}
