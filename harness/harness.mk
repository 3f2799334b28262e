# harness rules (see top-level Makefile)
#   make run         run the default scenario: per-CPU summary + HTML timeline path
#   make run SCENARIO=test3 ARGS="--repeat 5"
#   make run-linux   unmodified Debian Linux under the hypervisor at -smp 4 (make linux first)
#   make matrix      tests 1-5 x guests 32/64 x smp 2/4 (long; not part of `make test`)
#   make bench-detect  zoo bugs: deterministic hunt vs XMHF64's method (long; not in `make test`)
SCENARIO ?= default
ARGS ?=
.PHONY: run matrix
run: deps all
	$(PYTHON) -m harness run $(SCENARIO) $(ARGS)

.PHONY: run-linux
run-linux: deps all linux
	$(PYTHON) -m harness run linux-smoke --smp 4 --no-deterministic

matrix: deps all
	$(PYTHON) -m harness matrix $(ARGS)

# Deterministic hunting vs XMHF64's method for every zoo bug (harness/bench.py).
# Long: NOT part of `make test`.  make bench-detect BENCH_BUDGET=20 BENCH_RUNS=20 BENCH_REPEATS=1
BENCH_BUDGET ?= 60
BENCH_RUNS ?= 200
BENCH_REPLAYS ?= 10
BENCH_REPEATS ?= 3
BENCH_ARGS ?=
.PHONY: bench-detect
# GUEST=linux: each bug's linux_scenario (XMHF64's test as a Linux program).  GUEST
# is only compared here: its text never reaches the shell, `--guest linux` is literal.
bench-detect: deps all $(if $(filter linux,$(GUEST)),linux)
	$(PYTHON) -m harness.bench --budget $(BENCH_BUDGET) --runs $(BENCH_RUNS) \
		--replays $(BENCH_REPLAYS) --repeats $(BENCH_REPEATS) \
		$(if $(filter linux,$(GUEST)),--guest linux) $(BENCH_ARGS)
