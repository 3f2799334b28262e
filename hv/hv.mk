# hv rules (see top-level Makefile)
.PHONY: hv
hv:
