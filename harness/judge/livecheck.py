"""Check the trace while the machine runs, and stop the run at the first broken rule.

A failure in a hunt is known the moment a rule of decoder/rules.toml breaks (a
quiesce epoch acknowledged after it ended, an NMI pair left open...), often long
before the machine would finish or be called hung.  LiveCheck reads serial.bin as it
grows, feeds the complete frames through the decoder's own StreamDecoder and Checker
-- the same pieces in the same order as the final check -- and reports the first
violation, which the final check of the whole trace then finds again.  End-of-trace
rules are not judged live: the trace is not over.
"""
from __future__ import annotations

from pathlib import Path

from decoder.check import Checker, CheckResult
from decoder.reader import StreamDecoder

READ_LIMIT = 1 << 20  # bytes a poll takes at most, so one poll stays short


class LiveCheck:
    def __init__(self, serial: Path, rules: str | Path | None = None, time_bounds: bool = True) -> None:
        self.serial = serial
        self.decoder = StreamDecoder()
        self.offset = 0        # bytes of serial.bin consumed
        self.carry = b""       # the unterminated piece at the end so far
        self.first = True
        self.result: CheckResult | None = None
        self.error: str | None = None  # the live check broke: it stops, the final check still runs
        try:
            self.checker = Checker(rules, time_bounds=time_bounds)
        except Exception as exc:  # noqa: BLE001 -- a bad rules file is the final check's to report
            self.error = f"live check not started: {type(exc).__name__}: {exc}"

    def poll(self) -> CheckResult | None:
        """The violation once one is found (then always it), else None."""
        if self.result is not None or self.error is not None:
            return self.result
        try:
            return self._poll()
        except Exception as exc:  # noqa: BLE001 -- a checker bug must not take the run down
            self.error = f"live check stopped: {type(exc).__name__}: {exc}"
            return None

    def poll_all(self) -> CheckResult | None:
        """Poll until everything written so far is read (the machine has stopped)."""
        while self.result is None and self.error is None:
            before = self.offset + len(self.carry)
            self.poll()
            if self.offset + len(self.carry) == before:
                break
        return self.result

    def _poll(self) -> CheckResult | None:
        try:
            with open(self.serial, "rb") as f:
                f.seek(self.offset + len(self.carry))
                data = f.read(READ_LIMIT)
        except FileNotFoundError:
            return None
        if not data:
            return None
        pieces = (self.carry + data).split(b"\0")
        self.carry = pieces.pop()
        for piece in pieces:
            out = self.decoder.feed(self.offset, piece, self.first, True)
            self.offset += len(piece) + 1
            self.first = False
            for item in out:
                if self.checker.feed(item):
                    self.result = self.checker.finish(at_end=False)
                    return self.result
        return None
