# harness rules (see top-level Makefile)
