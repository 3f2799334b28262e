# harness rules (see top-level Makefile)
#   make run         run the default scenario: per-CPU summary + HTML timeline path
#   make run SCENARIO=test3 ARGS="--repeat 5"
#   make run-linux   unmodified Debian Linux under the hypervisor at -smp 4 (make linux first)
#   make matrix      tests 1-5 x guests 32/64 x smp 2/4 (long; not part of `make test`)
#   (make bench-detect: bench/bench.mk)
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

