/* Minimal assertions for the host tests: print where and what, count failures. */
#ifndef HEISEN_TRACE_CHECK_H
#define HEISEN_TRACE_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern int check_failures;

#define CHECK(cond) do { if (!(cond)) { check_failures++; \
	fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, __func__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); if (a_ != b_) { check_failures++; \
	fprintf(stderr, "%s:%d: %s: %s == %s failed: %" PRIu64 " (0x%" PRIx64 ") != %" PRIu64 " (0x%" PRIx64 ")\n", \
		__FILE__, __LINE__, __func__, #a, #b, a_, a_, b_, b_); } } while (0)

/* Runs one test function, reporting its name. */
#define RUN(fn) do { int before_ = check_failures; fn(); \
	fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn); } while (0)

/*
 * Runs one test function in a child process: for tests that leave global state behind
 * on purpose (a panic flush keeps the drain it stole).
 */
#define RUN_FORKED(fn) do { fflush(stderr); pid_t pid_ = fork(); if (pid_ == 0) { alarm(30); /* a hang fails */ fn(); fflush(stderr); \
	_exit(check_failures ? 1 : 0); } int st_ = -1; waitpid(pid_, &st_, 0); \
	int ok_ = pid_ > 0 && WIFEXITED(st_) && WEXITSTATUS(st_) == 0; check_failures += !ok_; \
	fprintf(stderr, "%s %s (own process)\n", ok_ ? "ok  " : "FAIL", #fn); } while (0)

#define CHECK_MAIN_END() do { if (check_failures) { fprintf(stderr, "%d check(s) failed\n", check_failures); return 1; } \
	return 0; } while (0)

#endif
