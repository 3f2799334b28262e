# Benchmarks (not part of make test).
#   make bench-exit     VMMCALL round trip vs guest-only loop, TRACE=on vs TRACE=off
.PHONY: bench-exit
bench-exit: deps all
	$(MAKE) --no-print-directory TRACE=off BUILD=$(BUILD)/trace-off hv guest
	$(PYTHON) bench/bench_exit.py --build $(BUILD) --build-trace-off $(BUILD)/trace-off
