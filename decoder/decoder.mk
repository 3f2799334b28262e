# decoder/ (Python): serial bytes -> records -> views and the expected-sequence checker.
#   make bench-decoder   records/s and peak RSS decoding generated 1 M / 10 M-record traces
#                        on one core (per view, each in its own process)
#   make bench-timeline  html --dir on a generated 10 M-record trace: build cost, and
#                        time to the first screen and to a zoomed window in headless Chromium
#   make fuzz-decoder    >= 1 M corrupt inputs through the reader; fails on any crash or
#                        broken invariant (decoder/fuzz.py)
# The decoder's pytest tests (tests/decoder/) run in `make test` via test-py.
DECODER_BENCH_RECORDS ?= 10000000
DECODER_FUZZ_INPUTS   ?= 1000000

.PHONY: bench-decoder bench-timeline fuzz-decoder
bench-decoder:
	$(PYTHON) -m decoder.bench --records $(DECODER_BENCH_RECORDS) --out $(BUILD)/decoder-bench

bench-timeline:
	$(PYTHON) -m decoder.bench_timeline --records $(DECODER_BENCH_RECORDS) --out $(BUILD)/decoder-bench

fuzz-decoder:
	$(PYTHON) -m decoder.fuzz --inputs $(DECODER_FUZZ_INPUTS)
	HEISEN_HYPOTHESIS=explore $(PYTHON) -m pytest -q tests/decoder/test_fuzz_reader.py
