/*
 * The workload string from GET_WORKLOAD: NAME or NAME:ARG, ARG decimal or
 * 0x-hex.  No libc, no 64-bit division (the 32-bit guest has no libgcc), so
 * the same file builds for the guests and for the host unit test.
 */
#ifndef GUEST_WORKLOAD_PARSE_H
#define GUEST_WORKLOAD_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum workload_parse_error {
	WL_PARSE_OK = 0,
	WL_PARSE_EMPTY_NAME,	/* "" or ":5" */
	WL_PARSE_BAD_NAME,	/* a name character outside [a-z0-9_-] */
	WL_PARSE_EMPTY_ARG,	/* "test:" or "test:0x" */
	WL_PARSE_BAD_DIGIT,	/* "test:12a", "test: 5", "test:-1" */
	WL_PARSE_OVERFLOW,	/* ARG does not fit in 64 bits */
};

struct workload_spec {
	const char *name;	/* points into the parsed string, not NUL-terminated */
	size_t name_len;
	int has_arg;
	uint64_t arg;
};

/* Parse the first len bytes of s (a NUL inside ends the string early). */
enum workload_parse_error workload_parse(const char *s, size_t len, struct workload_spec *out);

/* 1 if spec's name is exactly the NUL-terminated name. */
int workload_name_is(const struct workload_spec *spec, const char *name);

#endif
