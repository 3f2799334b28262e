# trace/: per-CPU lock-free rings, wire frames, drain (docs/trace-design.md).
#   make test-host     host unit tests under ASan+UBSan and TSan, freestanding and
#                      TRACE_OFF checks, trace-sample cross-check (part of make test)
#   make test-repeat N=200 N_TSAN=50
#                      every host trace test N times under ASan and N_TSAN times under
#                      TSan, stopping at the first failure (a flaky test shows here)
#   make trace-sample  build/trace-sample: a deterministic frame stream for decoders
#   make bench-trace   ns/record vs rdtsc, mutex+snprintf, LTTng-UST; callgrind; bytes/event
#
# The hypervisor compiles TRACE_SRCS itself with its own flags (hv.mk: HV_TRACE_SRCS);
# they need only trace/trace_platform.h implemented on its side.

TRACE_SRCS    := trace/ring.c trace/replay_stop.c trace/printf.c trace/frame.c trace/wire_codec.c trace/crc32.c trace/drain.c trace/memlog.c
HV_TRACE_SRCS := $(TRACE_SRCS)
TRACE_HDRS    := $(wildcard trace/*.h trace/tests/*.h) include/heisen/defs.h decoder/native/wire.h
TRACE_BUILD   := $(BUILD)/trace
# wire_decode.c reads frames with the decoder's C code (decoder/native/wire.c).
TRACE_SUPPORT := trace/tests/host_platform.c trace/tests/wire_decode.c decoder/native/wire.c
TRACE_TESTS   := test_frame test_ring_interleave test_drain test_ring_nmi test_memlog test_replay_stop
TRACE_CC      := gcc
TRACE_CFLAGS  := -std=gnu11 -g -Wall -Wextra -Werror -Iinclude -Itrace -Itrace/tests -Idecoder/native -pthread
TRACE_ASAN    := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TRACE_TSAN    := -O1 -fsanitize=thread
# Iterations per producer in the signal-storm test (TSan runs ~10x slower).
TRACE_NMI_ITERS_ASAN ?= 200000
TRACE_NMI_ITERS_TSAN ?= 10000
# The freestanding check uses the hypervisor's flags when hv.mk defines them.
TRACE_FREESTANDING_CFLAGS = $(or $(HV_CFLAGS),-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-pic -fno-pie -fno-stack-protector -Iinclude -Itrace)
TRACE_PLATFORM_SYMS := trace_ncpus trace_now trace_out_write trace_ring_of trace_this_cpu_ring

.PHONY: test-host test-repeat trace-sample bench-trace trace-freestanding-check trace-off-check

test-host: $(foreach t,$(TRACE_TESTS),$(TRACE_BUILD)/asan/$(t) $(TRACE_BUILD)/tsan/$(t)) \
		trace-freestanding-check trace-off-check $(BUILD)/trace-sample
	@for t in $(filter-out test_ring_nmi,$(TRACE_TESTS)); do \
		echo "== trace asan $$t"; $(TRACE_BUILD)/asan/$$t || exit 1; \
		echo "== trace tsan $$t"; $(TRACE_BUILD)/tsan/$$t || exit 1; done
	@echo "== trace asan test_ring_nmi $(TRACE_NMI_ITERS_ASAN)"; $(TRACE_BUILD)/asan/test_ring_nmi $(TRACE_NMI_ITERS_ASAN)
	@echo "== trace tsan test_ring_nmi $(TRACE_NMI_ITERS_TSAN)"; $(TRACE_BUILD)/tsan/test_ring_nmi $(TRACE_NMI_ITERS_TSAN)
	@echo "== trace sample cross-check (Python reader)"
	$(PYTHON) -m pytest -q -p no:cacheprovider trace/tests

N      ?= 20
N_TSAN ?= $(N)
test-repeat: $(foreach t,$(TRACE_TESTS),$(TRACE_BUILD)/asan/$(t) $(TRACE_BUILD)/tsan/$(t))
	@$(PYTHON) tools/repeat.py --runs $(N) --args-for test_ring_nmi=$(TRACE_NMI_ITERS_ASAN) \
		$(foreach t,$(TRACE_TESTS),$(TRACE_BUILD)/asan/$(t))
	@$(PYTHON) tools/repeat.py --runs $(N_TSAN) --args-for test_ring_nmi=$(TRACE_NMI_ITERS_TSAN) \
		$(foreach t,$(TRACE_TESTS),$(TRACE_BUILD)/tsan/$(t))

# test_ring_interleave is the one binary with the producer's test hooks compiled in.
trace_hooks = $(if $(filter test_ring_interleave,$(1)),-DTRACE_TEST_HOOKS)

$(TRACE_BUILD)/asan/%: trace/tests/%.c $(TRACE_SRCS) $(TRACE_SUPPORT) $(TRACE_HDRS)
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_CFLAGS) $(TRACE_ASAN) $(call trace_hooks,$*) -o $@ $< $(TRACE_SRCS) $(TRACE_SUPPORT)

$(TRACE_BUILD)/tsan/%: trace/tests/%.c $(TRACE_SRCS) $(TRACE_SUPPORT) $(TRACE_HDRS)
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_CFLAGS) $(TRACE_TSAN) $(call trace_hooks,$*) -o $@ $< $(TRACE_SRCS) $(TRACE_SUPPORT)

trace-sample: $(BUILD)/trace-sample
$(BUILD)/trace-sample: trace/tests/sample.c $(TRACE_SRCS) trace/tests/host_platform.c $(TRACE_HDRS)
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_CFLAGS) -O2 -o $@ $< $(TRACE_SRCS) trace/tests/host_platform.c

# The trace sources build freestanding and need nothing but the platform seam:
# no memcpy/memset the compiler invented, no libc.
trace-freestanding-check: $(TRACE_SRCS) $(TRACE_HDRS)
	@mkdir -p $(TRACE_BUILD)/fs
	@for f in $(TRACE_SRCS); do \
		$(TRACE_CC) $(TRACE_FREESTANDING_CFLAGS) -c $$f -o $(TRACE_BUILD)/fs/$$(basename $$f .c).o || exit 1; done
	@ld -r -o $(TRACE_BUILD)/fs/trace.o $(patsubst trace/%.c,$(TRACE_BUILD)/fs/%.o,$(TRACE_SRCS))
	@undef=$$(nm -u $(TRACE_BUILD)/fs/trace.o | awk '{print $$2}' | sort | tr '\n' ' '); \
	want="$(TRACE_PLATFORM_SYMS) "; \
	if [ "$$undef" != "$$want" ]; then \
		echo "trace-freestanding-check: undefined symbols '$$undef', expected only the platform seam '$$want'"; exit 1; fi; \
	echo "trace-freestanding-check: ok (needs only: $$undef)"

# TRACE=off compiles every emission out: the probe must not reference trace_emit,
# and the same probe built with tracing on must (so the check can fail).
trace-off-check: trace/tests/trace_off_probe.c include/heisen/defs.h
	@mkdir -p $(TRACE_BUILD)
	@$(TRACE_CC) -O2 -Wall -Wextra -Werror -Iinclude -c $< -o $(TRACE_BUILD)/probe_on.o
	@$(TRACE_CC) -O2 -Wall -Wextra -Werror -Iinclude -DTRACE_OFF=1 -c $< -o $(TRACE_BUILD)/probe_off.o
	@nm -u $(TRACE_BUILD)/probe_on.o | grep -qw trace_emit || { echo "trace-off-check: probe does not emit with tracing on"; exit 1; }
	@if nm -u $(TRACE_BUILD)/probe_off.o | grep -qw trace_emit; then echo "trace-off-check: TRACE_OFF still calls trace_emit"; exit 1; fi
	@echo "trace-off-check: ok"

# bench-trace's recipe: bench/trace/bench.mk, included by bench/bench.mk
