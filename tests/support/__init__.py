"""Helpers for the tests and the fuzzers: synthetic traces, input mutation, the
C-against-Python decoder diff, a headless Chromium driver.  Never imported by the
product packages (harness/, decoder/): tests/test_layout.py."""
