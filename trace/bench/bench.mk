# bench-trace rules: see trace/trace.mk
