# bench-trace (not part of make test), included by trace/trace.mk:
#   1. ns per record, one process, methods interleaved: rdtsc floor, trace_emit,
#      mutex + snprintf, LTTng-UST without and with a recording session;
#   2. callgrind instructions per record (the number that does not wobble);
#   3. bytes per event on the wire: trace-sample, and recorded runs' serial.bin
#      (TRACE_RECORDINGS; default: a fresh run of scenarios/trace-flood.toml, the drain's
#      test:10000 on 4 CPUs with an NMI every 1 ms), as recorded and re-framed at 64
#      records a frame.
# An LTTng session needs lttng-sessiond: if none runs, one is started for the bench and
# stopped afterwards (only that one, by its pid file: bench/lttng_session.py).

TRACE_BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -Itrace -Itrace/tests -Ibench/trace -pthread
TRACE_RECORDINGS   ?=
TRACE_CALLGRIND_N  := 100000
BENCH_TRACE_ARGS   ?=

.PHONY: bench-trace
bench-trace: deps $(TRACE_BUILD)/bench-trace $(TRACE_BUILD)/trace-wire-stats $(BUILD)/trace-sample $(if $(TRACE_RECORDINGS),,all)
	$(PYTHON) -m bench.lttng_session with-sessiond $(TRACE_BUILD)/bench-trace $(BENCH_TRACE_ARGS)
	@echo "  callgrind, instructions per record ($(TRACE_CALLGRIND_N) records, inclusive of callees):"
	@for m in emit:trace_emit mutex:bench_mutex_one lttng:bench_lttng_one; do \
		meth=$${m%%:*}; fn=$${m##*:}; out=$(TRACE_BUILD)/callgrind.$$meth.out; \
		valgrind --tool=callgrind --callgrind-out-file=$$out --toggle-collect=$$fn \
			$(TRACE_BUILD)/bench-trace --callgrind $$meth $(TRACE_CALLGRIND_N) >/dev/null 2>&1 || exit 1; \
		ir=$$(awk '/^(summary|totals):/{print $$2; exit}' $$out); \
		printf '    %-8s %6d  (%s)\n' $$meth $$((ir / $(TRACE_CALLGRIND_N))) $$fn; done
	@echo "    (lttng under valgrind runs without a session: the disabled tracepoint)"
	@echo "  bytes per event on the wire:"
	@$(BUILD)/trace-sample > $(TRACE_BUILD)/sample.bin
	@rec="$(TRACE_RECORDINGS)"; \
	if [ -z "$$rec" ]; then \
		rm -rf $(TRACE_BUILD)/runs; \
		$(PYTHON) -m harness run trace-flood --seed 4 --no-deterministic --results $(TRACE_BUILD)/runs >/dev/null \
			|| { echo "bench-trace: the trace-flood run failed (see $(TRACE_BUILD)/runs)"; exit 1; }; \
		rec=$$(ls -d $(TRACE_BUILD)/runs/*/serial.bin); \
	fi; \
	$(TRACE_BUILD)/trace-wire-stats $(TRACE_BUILD)/sample.bin $$rec

$(TRACE_BUILD)/bench-trace: bench/trace/bench_trace.c bench/trace/lttng_tp.c bench/trace/lttng_tp.h trace/ring.c trace/replay_stop.c \
		trace/tests/host_platform.c $(TRACE_HDRS)
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_BENCH_CFLAGS) -o $@ bench/trace/bench_trace.c bench/trace/lttng_tp.c trace/ring.c trace/replay_stop.c \
		trace/tests/host_platform.c -llttng-ust -ldl

# wire_decode.c reads frames with the decoder's C code (decoder/native/wire.c), as the
# host tests do (trace/trace.mk's TRACE_SUPPORT).
$(TRACE_BUILD)/trace-wire-stats: bench/trace/wire_stats.c trace/tests/wire_decode.c decoder/native/wire.c \
		decoder/native/wire.h trace/frame.c trace/wire_codec.c trace/crc32.c $(TRACE_HDRS)
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_BENCH_CFLAGS) -Idecoder/native -o $@ bench/trace/wire_stats.c trace/tests/wire_decode.c \
		decoder/native/wire.c trace/frame.c trace/wire_codec.c trace/crc32.c

# The CTF trace's producer for bench-decoder's babeltrace2 rows (bench/lttng_session.py).
$(TRACE_BUILD)/lttng-emit: bench/trace/lttng_emit.c bench/trace/lttng_tp.c bench/trace/lttng_tp.h
	@mkdir -p $(dir $@)
	$(TRACE_CC) $(TRACE_BENCH_CFLAGS) -o $@ bench/trace/lttng_emit.c bench/trace/lttng_tp.c -llttng-ust -ldl
