"""Errors the command line reports as bad input (exit 2, one line, no traceback)."""
from __future__ import annotations


class InputError(ValueError):
    """A request this trace or this file system cannot satisfy: a filter naming a CPU
    the trace does not have, an output directory that is not the decoder's."""
