/*
 * Host driver for hv/core/cmdline.c's checker: `cmdline_driver NCPUS 'LINE'` prints
 * "ok" or "refused <why> | <word>"; tests/test_cmdline.py runs the cases.
 * `cmdline_driver options 'LINE'` prints the OPTIONS record hv_options_parse() makes
 * of an accepted line, "seed nmi_every flags" (tests/harness/test_hv_options.py
 * holds it against the harness's parser).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cmdline.h"

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct cmdline_error e;
	bool options = !strcmp(argv[1], "options");
	if (cmdline_check(argv[2], options ? 100 : (u32)atoi(argv[1]), &e)) {
		if (!options) {
			puts("ok");
			return 0;
		}
		struct hv_options o;
		hv_options_parse(argv[2], &o);
		printf("%llu %llu %llu\n", (unsigned long long)o.seed, (unsigned long long)o.nmi_every,
		       (unsigned long long)hv_options_flags(&o));
		return 0;
	}
	printf("refused %s | %.*s\n", e.why, (int)e.word_len, e.word);
	return 1;
}
