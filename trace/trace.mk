# trace rules (see top-level Makefile)
.PHONY: test-host
test-host:
