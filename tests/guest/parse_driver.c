/*
 * Host driver for guest/common/workload_parse.c: one workload string per
 * input line, one result line out: "<error> <has_arg> <arg> <name>".
 * Built with ASan/UBSan by test_guest_parse.py.  Each string is copied into
 * a heap buffer of exactly its length (no NUL) so ASan catches any read
 * past len.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_parse.h"

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strcspn(line, "\n");
		char *exact = malloc(len ? len : 1);
		struct workload_spec spec = { 0 };
		enum workload_parse_error err;

		memcpy(exact, line, len);
		err = workload_parse(exact, len, &spec);
		if (err == WL_PARSE_OK)
			printf("%d %d %" PRIu64 " %.*s\n", err, spec.has_arg, spec.arg, (int)spec.name_len,
			       spec.name);
		else
			printf("%d\n", err);
		free(exact);
	}
	return 0;
}
