# decoder rules (see top-level Makefile)
