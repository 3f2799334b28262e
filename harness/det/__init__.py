"""Deterministic runs' tools: replay, hunt, bisect, gdb at a trace record, and the next
steps a failure suggests."""
