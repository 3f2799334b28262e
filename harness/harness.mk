# harness rules (see top-level Makefile)
#   make run         run the default scenario: per-CPU summary + HTML timeline path
#   make run SCENARIO=test3 ARGS="--repeat 5"
#   make matrix      tests 1-5 x guests 32/64 x smp 2/4 (long; not part of `make test`)
SCENARIO ?= default
ARGS ?=
.PHONY: run matrix
run: deps all
	$(PYTHON) -m harness run $(SCENARIO) $(ARGS)

matrix: deps all
	$(PYTHON) -m harness matrix $(ARGS)
