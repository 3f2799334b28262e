"""Benchmarks and soaks: every measurement the docs quote, one tree (the C trace
benchmark in bench/trace/).  Run by `make bench-*` and `make soak`; never imported by
the product packages."""
