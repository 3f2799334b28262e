# Heisenvisor top-level Makefile.
#   make            build hypervisor + guests (and regenerate generated definitions)
#   make run        run the default scenario under QEMU and print the per-CPU summary
#   make test       host unit tests (sanitizers) + pytest (decoder, harness, QEMU boots)
#   make deps       apt-get install whatever is missing (run/test call it)
#   make linux      the Linux guest: Debian kernel + initramfs in build/linux (docs/linux-guest.md)
#   make docs       docs/architecture.svg from docs/architecture.dot (graphviz)
# Each part keeps its own rules in <part>/<part>.mk; this file only wires them.

PYTHON  := /usr/bin/python3
BUILD   := build
QEMU    := qemu-system-x86_64
TRACE   ?= on
BUGS    ?=

.PHONY: all gen gen-check deps run test test-host test-py clean bugs-check docs
# BUGS is checked here, while make parses, before any recipe (hv/hv.mk puts it into
# compiler flags, so into shell commands): every comma-separated word must be a name
# from defs/bugs.toml.  $(value BUGS) is the text as given, never expanded (a
# `$(shell ...)` in it stays text), and the check itself runs no shell on it.
comma      := ,
BUGS_WORDS := $(subst $(comma), ,$(value BUGS))
ifneq ($(BUGS_WORDS),list)
ifneq ($(strip $(BUGS_WORDS)),)
BUG_NAMES  := $(shell $(PYTHON) tools/bugs.py names)
BUGS_BAD   := $(filter-out $(BUG_NAMES),$(BUGS_WORDS))
ifneq ($(BUGS_BAD),)
$(error unknown bug(s) $(BUGS_BAD); `make BUGS=list` shows the zoo)
endif
endif
endif

ifeq ($(BUGS_WORDS),list)
# `make BUGS=list`: the bug zoo, one line each (defs/bugs.toml).
all:
	@$(PYTHON) tools/bugs.py list
else
all: bugs-check gen hv hv-vmx guest decoder
endif

# The VMX hypervisor for the bochs platform (build/vmx/hv.elf32, hv/hv.mk), beside the SVM one.
.PHONY: hv-vmx
hv-vmx: gen
	@$(MAKE) --no-print-directory hv ARCH=vmx

# A misspelt bug name must not silently build the correct hypervisor.  The names
# reach tools/bugs.py through the environment, never inside a recipe's quotes.
bugs-check: export BUGS_CHECK = $(value BUGS)
bugs-check:
	@$(PYTHON) tools/bugs.py check-env

# Debian packages the project needs (tool -> package).  `make deps` installs
# the missing ones; every target that needs a tool depends on deps.
DEB_PACKAGES := gcc gcc-multilib binutils make qemu-system-x86 gdb python3 python3-pytest \
	python3-pyelftools python3-rich python3-hypothesis python3-dev liblttng-ust-dev time \
	lttng-tools babeltrace2 \
	chromium valgrind cpio graphviz \
	bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# docs/architecture.svg from its graphviz source (tests/test_architecture_doc.py
# checks that the committed SVG is this rendering).
docs: deps
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg

gen:
	@$(PYTHON) tools/gendefs.py

gen-check:
	@$(PYTHON) tools/gendefs.py --check

# trace.mk first: hv.mk compiles its HV_TRACE_SRCS (expanded with :=).
include trace/trace.mk
include hv/hv.mk
include guest/guest.mk
include guest/multiboot/multiboot.mk
include guest/linux/linux.mk
include decoder/decoder.mk
include harness/harness.mk
include bench/bench.mk

test: deps all linux test-host test-cwire test-py

test-py: all
	$(PYTHON) -m pytest -q -p no:cacheprovider tests --ignore=tests/bochs

# The VMX hypervisor's boots under Bochs beyond make test's one smoke (tests/bochs/):
# own guests at -smp 1, 2, 4, protection, NMIs.  Minutes, not in make test.
.PHONY: test-vmx
test-vmx: deps all
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/test_vmx_bochs.py tests/bochs

clean:
	rm -rf $(BUILD) results

# `make mutants`: the mutation catalogue (tests/mutants.toml) against HEAD, each mutant in
# its own clean copy; MUTANTS_ARGS="--only ID --jobs 1" narrows it (tools/mutants.py).
.PHONY: mutants
mutants: deps all linux
	$(PYTHON) tools/mutants.py $(MUTANTS_ARGS)
