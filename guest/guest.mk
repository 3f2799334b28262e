# guest rules (see top-level Makefile)
.PHONY: guest
guest:
