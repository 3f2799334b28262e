/*
 * Host driver for hv/core/cmdline.c's checker: `cmdline_driver NCPUS 'LINE'` prints
 * "ok" or "refused <why> | <word>"; tests/test_cmdline.py runs the cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include "core/cmdline.h"

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct cmdline_error e;
	if (cmdline_check(argv[2], (u32)atoi(argv[1]), &e)) {
		puts("ok");
		return 0;
	}
	printf("refused %s | %.*s\n", e.why, (int)e.word_len, e.word);
	return 1;
}
