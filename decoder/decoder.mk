# decoder/ (Python, with the wire layer also in C): serial bytes -> records -> views and
# the expected-sequence checker.
#   make decoder         build/decoder/_cwire*.so, the C wire decoder for Python
#                        (decoder/native/; decoder/cwire.py loads it, the reader falls
#                        back to pure Python without it or with HEISEN_DECODER=python)
#   (make bench-decoder and bench-timeline: bench/bench.mk)
#   make fuzz-decoder    >= 1 M corrupt inputs through the reader; fails on any crash or
#                        broken invariant (tests/support/fuzz.py), then >= 1 M through both the
#                        C and the Python reader, failing on any difference (tests/support/cwire_diff.py),
#                        then the same inputs through the C decoder under ASan+UBSan
#   make test-cwire      the same on a few thousand inputs, then the whole extension under
#                        ASan+UBSan through the differential tests (part of make test)
# The decoder's pytest tests (tests/decoder/) run in `make test` via test-py.
DECODER_FUZZ_INPUTS   ?= 1000000
CWIRE_SRCS   := decoder/native/wire.c decoder/native/cwire_module.c decoder/native/textfmt.c decoder/native/check.c trace/crc32.c
CWIRE_HDRS   := decoder/native/wire.h decoder/native/textfmt.h decoder/native/check.h trace/frame.h trace/ring.h include/heisen/defs.h
CWIRE_SUFFIX := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
CWIRE_PYINC  := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])")
CWIRE_SO     := $(BUILD)/decoder/_cwire$(CWIRE_SUFFIX)
CWIRE_CFLAGS := -std=gnu11 -O2 -g -fPIC -shared -Wall -Wextra -Werror -Iinclude -Itrace -Idecoder/native \
	-I$(CWIRE_PYINC)

# The C decoder under ASan+UBSan, fed the differential fuzzer's inputs (test_cwire.c).
CWIRE_TEST   := $(BUILD)/decoder/asan/test_cwire
CWIRE_QUICK  ?= 5000

.PHONY: decoder fuzz-decoder test-cwire
decoder: $(CWIRE_SO)

$(CWIRE_SO): $(CWIRE_SRCS) $(CWIRE_HDRS)
	@mkdir -p $(dir $@)
	gcc $(CWIRE_CFLAGS) -o $@ $(CWIRE_SRCS)

$(CWIRE_TEST): tests/support/test_cwire.c decoder/native/wire.c trace/crc32.c $(CWIRE_HDRS)
	@mkdir -p $(dir $@)
	gcc $(TRACE_CFLAGS) $(TRACE_ASAN) -Idecoder/native -o $@ tests/support/test_cwire.c decoder/native/wire.c trace/crc32.c

# The whole extension (wire decoder, text formatter, checker) under ASan+UBSan, loaded
# into Debian's Python with the sanitizer runtimes preloaded (leaks off: CPython keeps
# its objects at exit by design).
CWIRE_ASAN_DIR := $(BUILD)/decoder/asan-ext
CWIRE_ASAN_SO  := $(CWIRE_ASAN_DIR)/_cwire$(CWIRE_SUFFIX)
CWIRE_ASAN_RUN  = LD_PRELOAD=$(shell gcc -print-file-name=libasan.so):$(shell gcc -print-file-name=libubsan.so) \
	ASAN_OPTIONS=detect_leaks=0 HEISEN_CWIRE_DIR=$(CWIRE_ASAN_DIR)
CWIRE_ASAN_QUICK ?= 1000

$(CWIRE_ASAN_SO): $(CWIRE_SRCS) $(CWIRE_HDRS)
	@mkdir -p $(dir $@)
	gcc $(CWIRE_CFLAGS) $(TRACE_ASAN) -o $@ $(CWIRE_SRCS)

# Part of `make test`: a few thousand inputs through both readers, then through the
# sanitized C decoder; then the differential tests of the text view and the checker
# with the sanitized extension.
test-cwire: $(CWIRE_SO) $(CWIRE_TEST) $(CWIRE_ASAN_SO)
	$(PYTHON) -m tests.support.cwire_diff --inputs $(CWIRE_QUICK) --jobs 1 --corpus $(BUILD)/decoder/corpus-quick
	$(CWIRE_TEST) $(BUILD)/decoder/corpus-quick.*
	$(CWIRE_ASAN_RUN) $(PYTHON) -m tests.support.cwire_diff --inputs $(CWIRE_ASAN_QUICK) --jobs 1
	$(CWIRE_ASAN_RUN) $(PYTHON) -m pytest -q -p no:cacheprovider tests/decoder/test_fast_text.py tests/decoder/test_check.py \
		tests/decoder/test_fast_check.py

fuzz-decoder: $(CWIRE_SO) $(CWIRE_TEST)
	$(PYTHON) -m tests.support.fuzz --inputs $(DECODER_FUZZ_INPUTS)
	HEISEN_HYPOTHESIS=explore $(PYTHON) -m pytest -q tests/decoder/test_fuzz_reader.py
	$(PYTHON) -m tests.support.cwire_diff --inputs $(DECODER_FUZZ_INPUTS) --corpus $(BUILD)/decoder/corpus
	$(CWIRE_TEST) $(BUILD)/decoder/corpus.*
