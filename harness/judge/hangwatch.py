"""When is a silent machine hung?  Pure decision logic, fed by the supervisor.

Default mode: no serial growth for `hang_timeout` wall seconds.

Deterministic mode cannot rely on wall-clock silence: icount makes the
machine run at a different (and load-dependent: `hunt` runs several QEMUs on
few cores) speed, so a wall timeout would call a slow run hung on a busy
host and wait needlessly on an idle one.  There silence is measured in
*virtual* time, icount << shift ns, read over QMP `query-replay`: a spinning
deadlock still executes instructions, so virtual time moves while serial
does not, and the decision depends on the machine's progress, not on the
host.  Two backstops cover what virtual time cannot see: a virtual clock
that stops (every vCPU halted with nothing pending; sleep=off then has no
timer to warp to) for `hang_timeout` wall seconds, and a wall-clock silence
of BACKSTOP x hang_timeout in case icount cannot be read at all.
"""
from __future__ import annotations

from dataclasses import dataclass

BACKSTOP = 6.0


@dataclass
class HangWatch:
    hang_timeout: float              # seconds (virtual in icount mode, wall otherwise)
    icount_shift: int | None = None  # None: wall-clock mode
    _size: int = -1
    _growth_wall: float | None = None
    _growth_icount: int | None = None
    _icount: int | None = None
    _icount_wall: float | None = None
    # What the watcher itself saw, for the verdict: a hang called on few samples,
    # or on a serial file that never grew, reads differently from one on many.
    samples: int = 0
    longest_gap_s: float = 0.0
    # The longest serial silence seen, on the clock hang_timeout is counted on: how
    # close this run came to being called hung (what a scenario's timeout is set from).
    longest_silence_s: float = 0.0
    first_bytes_wall: float | None = None
    first_icount: int | None = None          # the first icount read
    first_bytes_icount: int | None = None    # icount read with the first non-empty serial
    _first_wall: float | None = None
    _last_wall: float | None = None

    def observe(self, wall: float, serial_size: int, icount: int | None = None) -> str | None:
        """Feed one sample; returns why the machine counts as hung, or None."""
        self._note_sample(wall, serial_size, icount)
        if self._growth_wall is None or serial_size != self._size:
            self._size, self._growth_wall, self._growth_icount = serial_size, wall, icount
        if icount is not None and icount != self._icount:
            self._icount, self._icount_wall = icount, wall
            if self._growth_icount is None:
                self._growth_icount = icount
        silent_wall = wall - self._growth_wall
        where = f"(stuck at {serial_size} bytes)"
        if self.icount_shift is None:
            self.longest_silence_s = max(self.longest_silence_s, silent_wall)
            if silent_wall >= self.hang_timeout:
                return f"no serial output for {self.hang_timeout:g}s {where}"
            return None
        if icount is not None and self._growth_icount is not None:
            virtual = ((icount - self._growth_icount) << self.icount_shift) / 1e9
            self.longest_silence_s = max(self.longest_silence_s, virtual)
            if virtual >= self.hang_timeout:
                return (f"no serial output for {virtual:.1f}s of virtual time "
                        f"({icount - self._growth_icount} instructions) {where}")
        if self._icount_wall is not None and wall - self._icount_wall >= self.hang_timeout:
            return (f"virtual clock stopped at icount {self._icount} for "
                    f"{wall - self._icount_wall:.1f}s {where}")
        if icount is None and silent_wall >= self.hang_timeout * BACKSTOP:
            return f"no serial output for {silent_wall:.1f}s of wall time (backstop) {where}"
        return None

    def _note_sample(self, wall: float, serial_size: int, icount: int | None) -> None:
        self.samples += 1
        if self._first_wall is None:
            self._first_wall = wall
        if self._last_wall is not None:
            self.longest_gap_s = max(self.longest_gap_s, wall - self._last_wall)
        self._last_wall = wall
        if self.first_icount is None:
            self.first_icount = icount
        if serial_size > 0 and self.first_bytes_wall is None:
            self.first_bytes_wall = wall - self._first_wall
            self.first_bytes_icount = icount

    def stats(self) -> dict[str, object]:
        """Samples taken, the longest wall gap between two, the longest serial silence
        (virtual seconds in icount mode, else wall), and when (wall seconds after the
        first sample) the serial port first had bytes (None: never)."""
        return {"samples": self.samples, "longest_gap_s": round(self.longest_gap_s, 3),
                "longest_silence_s": round(self.longest_silence_s, 3),
                "first_bytes_after_s": None if self.first_bytes_wall is None
                else round(self.first_bytes_wall, 3),
                "first_icount": self.first_icount, "first_bytes_icount": self.first_bytes_icount}

    def virtual_seconds(self) -> float | None:
        """Virtual time of the last icount sample (None if never read)."""
        if self._icount is None or self.icount_shift is None:
            return None
        return (self._icount << self.icount_shift) / 1e9
