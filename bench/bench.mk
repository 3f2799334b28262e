# Benchmarks (not part of make test).
#   make bench-exit     VMMCALL round trip vs guest-only loop, TRACE=on vs TRACE=off
#                       (PLATFORM=bochs: the VMX hypervisor under Bochs, TRACE=on)
#   make bench-quiesce  quiesce round trip at -smp 2, 4, 8
PLATFORM ?= qemu
$(if $(filter $(value PLATFORM),qemu bochs),,$(error PLATFORM must be qemu or bochs))
.PHONY: bench-exit
ifeq ($(PLATFORM),bochs)
bench-exit: deps all
	$(PYTHON) bench/bench_exit_bochs.py --build $(BUILD)
else
bench-exit: deps all
	$(MAKE) --no-print-directory TRACE=off BUILD=$(BUILD)/trace-off hv guest
	$(MAKE) --no-print-directory TRACE_SLOTS=32768 TRACE_MEMLOG_MB=1 BUILD=$(BUILD)/trace-record hv guest
	$(PYTHON) bench/bench_exit.py --build $(BUILD) --build-trace-off $(BUILD)/trace-off \
		--build-record $(BUILD)/trace-record
endif

#   make bench-quiesce  stop-the-world latency at -smp 2, 4, 8 (a curve)
.PHONY: bench-quiesce
bench-quiesce: deps all
	$(PYTHON) bench/bench_quiesce.py

#   make bench-determinism  one (scenario, seed) 60 times with and without QEMU's
#                           default devices: distinct outputs per configuration
.PHONY: bench-determinism
bench-determinism: deps all
	$(PYTHON) bench/bench_determinism.py

#   make bench-linux  Linux's boot time to `Run /init` under the hypervisor vs the same kernel
#                     and initramfs on plain QEMU, interleaved, at -smp 1, 2, 4 (goal <= 1.5x),
#                     and once each at -smp 1 under icount (virtual time); results/bench-linux.json.
#                     BENCH_LINUX_ARGS="--rounds 5 --smp 1 2" for another plan.
.PHONY: bench-linux
bench-linux: deps all linux
	$(PYTHON) bench/bench_linux.py $(BENCH_LINUX_ARGS)

#   make bench-rdtsc-exit  a deterministic Linux boot at -smp 1 with and without rdtsc_exit=1
#                         (the RDTSC intercept SMP Linux needs): instructions, virtual and wall time
.PHONY: bench-rdtsc-exit
bench-rdtsc-exit: deps all linux
	$(PYTHON) bench/bench_rdtsc_exit.py $(BENCH_RDTSC_EXIT_ARGS)

#   make soak   the correct build over 1000 deterministic stress-all seeds and 200 of each
#               XMHF64 test 1-5, every run to its end; prints every failing seed and the
#               longest quiesce and serial silence any seed showed (docs/quiesce.md).
#               SOAK_ARGS="--plan stress-all=50 --base-seed 7" for a shorter one.
#   make soak GUEST=linux RUNS=N
#               XMHF64's tests inside Linux instead: every scenarios/linux-test*.toml,
#               N runs each (default 20), host-timed (XMHF64's method: QMP NMIs).
.PHONY: soak
# GUEST and RUNS reach soak.py through the environment, never a shell command line.
soak: export SOAK_GUEST = $(value GUEST)
soak: export SOAK_RUNS = $(value RUNS)
soak: deps all $(if $(filter linux,$(GUEST)),linux)
	$(PYTHON) bench/soak.py --from-env $(SOAK_ARGS)

# Deterministic hunting vs XMHF64's method for every zoo bug (bench/bench_detect.py).
# Long: NOT part of `make test`.  make bench-detect BENCH_BUDGET=20 BENCH_RUNS=20 BENCH_REPEATS=1
BENCH_BUDGET ?= 60
BENCH_RUNS ?= 200
BENCH_REPLAYS ?= 10
BENCH_REPEATS ?= 3
BENCH_ARGS ?=
.PHONY: bench-detect
# GUEST=linux: each bug's linux_scenario (XMHF64's test as a Linux program).  GUEST
# is only compared here: its text never reaches the shell, `--guest linux` is literal.
# PLATFORM=bochs: the VMX-relevant bugs on the VMX hypervisor under Bochs, deterministic
# hunts only (PLATFORM is checked at the top of this file and only compared here;
# `--platform bochs` is literal).
bench-detect: deps all $(if $(filter linux,$(GUEST)),linux)
	$(PYTHON) -m bench.bench_detect --budget $(BENCH_BUDGET) --runs $(BENCH_RUNS) \
		--replays $(BENCH_REPLAYS) --repeats $(BENCH_REPEATS) \
		$(if $(filter linux,$(GUEST)),--guest linux) \
		$(if $(filter bochs,$(value PLATFORM)),--platform bochs) $(BENCH_ARGS)

#   make bench-decoder   records/s and peak RSS decoding generated 1 M / 10 M-record traces
#                        on one core (per view, each in its own process): wire, read,
#                        check and text on the C and the Python path side by side, and
#                        babeltrace2 on CTF traces of the same event counts recorded with
#                        LTTng-UST (build/trace/lttng-emit; lttng-tools, babeltrace2 via deps)
#   make bench-timeline  html --dir on a generated 10 M-record trace: build cost, and
#                        time to the first screen and to a zoomed window in headless Chromium
DECODER_BENCH_RECORDS ?= 10000000
.PHONY: bench-decoder bench-timeline
bench-decoder: deps $(CWIRE_SO) $(TRACE_BUILD)/lttng-emit
	$(PYTHON) -m bench.bench_decoder --records $(DECODER_BENCH_RECORDS) --out $(BUILD)/decoder-bench \
		--lttng-emit $(TRACE_BUILD)/lttng-emit

bench-timeline:
	$(PYTHON) -m bench.bench_timeline --records $(DECODER_BENCH_RECORDS) --out $(BUILD)/decoder-bench

#   make bench-trace    the trace ring's cost per record (bench/trace/bench.mk)
include bench/trace/bench.mk
