"""LTTng for the benches: a session daemon while they need one, and a CTF trace of
exactly N events recorded with LTTng-UST and verified with babeltrace2.

    python3 -m bench.lttng_session with-sessiond CMD ARG...   # CMD with a session daemon

`make bench-trace` runs its C bench under `with-sessiond`; `make bench-decoder`
(bench/bench_decoder.py) records its CTF traces with `record`.  When no lttng-sessiond
runs, one is started and, afterwards, stopped: only that one, by the pid its pid file
gave (a daemon someone else started is used and left alone).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

EVENT = "hv_bench:intercept"   # bench/trace/lttng_tp.h, fired by bench/trace/lttng_emit.c
CHANNEL = "heisen"


class LttngError(Exception):
    """A recording that cannot be used as a figure (the message says why)."""


def _rundir() -> Path:
    # where lttng-sessiond keeps its pid file: the system one for root, else per user
    return Path("/var/run/lttng") if os.getuid() == 0 else Path.home() / ".lttng"


def sessiond_running() -> bool:
    pids = subprocess.run(["pgrep", "-x", "lttng-sessiond"], capture_output=True, text=True).stdout.split()
    return any(_alive(int(p)) for p in pids)


@contextmanager
def sessiond() -> Iterator[None]:
    """A session daemon for the duration: the running one, or one started for it."""
    started = None
    if not sessiond_running():
        # --daemonize returns once the daemon answers client commands (lttng-sessiond(8))
        r = subprocess.run(["lttng-sessiond", "--daemonize", "--no-kernel"], capture_output=True, text=True)
        if r.returncode != 0:
            raise LttngError(f"lttng-sessiond did not start (exit {r.returncode}): {r.stderr.strip()}")
        started = int((_rundir() / "lttng-sessiond.pid").read_text())
    try:
        yield
    finally:
        if started is not None:
            os.kill(started, signal.SIGTERM)
            # Until it is gone, the next sessiond() would take it for a running daemon
            # and its lttng commands would find none.
            for _ in range(500):
                if not _alive(started):
                    break
                time.sleep(0.01)
            else:
                raise LttngError(f"lttng-sessiond (pid {started}) still runs 5 s after SIGTERM")


def _alive(pid: int) -> bool:
    """pid names a process that has not exited (a daemon's zombie awaits init: exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def lttng(*args: str) -> None:
    """`lttng ARGS` (the lttng-tools CLI); a failure raises LttngError with its message."""
    # --no-sessiond: the CLI would otherwise spawn a daemon nobody stops when none runs
    r = subprocess.run(["lttng", "--no-sessiond", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise LttngError(f"lttng {' '.join(args)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()}")


def babeltrace2(args: list[str], trace: Path, launcher: Sequence[str] = ()) -> tuple[int, float]:
    """Run `LAUNCHER... babeltrace2 ARGS trace`: (lines it printed, CPU seconds of the
    process started and the children it waited for, from wait4).  A failed run, or a
    trace from which the tracer discarded events or packets (the text sink's warning on
    stderr), is an error, not a count."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*launcher, "babeltrace2", *args, str(trace)], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        lines = 0
        while chunk := proc.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
        _, status, ru = os.wait4(proc.pid, 0)
        rc = proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        msg = err.read().decode(errors="replace").strip()
    if rc != 0:
        raise LttngError(f"babeltrace2 {' '.join(args)} {trace}: exit {rc}: {msg[:2000]}")
    if "discarded" in msg.lower():
        raise LttngError(f"babeltrace2 {trace}: the tracer dropped events: {msg[:2000]}")
    return lines, ru.ru_utime + ru.ru_stime


def count_events(trace: Path) -> int:
    """Events babeltrace2 reads from a CTF trace: its default text, one line each."""
    return babeltrace2([], trace)[0]


def emit(emitter: Path, n: int, session: str, channel: str) -> None:
    """Run `emitter n` with EVENT enabled for it alone in session's channel (which must
    exist) and the session started (the handshake of bench/trace/lttng_emit.c)."""
    # LTTNG_UST_REGISTER_TIMEOUT: liblttng-ust's constructor waits up to this long
    # (ms) for the daemon, so the app is registered when it says "ready".
    env = dict(os.environ, LTTNG_UST_ALLOW_BLOCKING="1", LTTNG_UST_REGISTER_TIMEOUT="10000")
    proc = subprocess.Popen([str(emitter), str(n)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = proc.stdout.readline()
        if ready == "ready\n":
            # Enabled only now, filtered on the emitter's vpid: a session records every
            # registered app of this user that fires EVENT, and another emitter running
            # at the same time (a second bench, a test) would add its events.
            lttng("enable-event", "--userspace", f"--session={session}", f"--channel={channel}",
                  f"--filter=$ctx.vpid == {proc.pid}", EVENT)
            # returns once every registered app has the session active (lttng-emit.c:
            # events before that are dropped)
            lttng("start", session)
            proc.stdin.write("go\n")
        _, err = proc.communicate()   # closes stdin: no line, the emitter exits 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0 or ready != "ready\n":
        raise LttngError(f"{emitter} {n}: exit {proc.returncode}: {err.strip()}")


def record(emitter: Path, n: int, dest: Path) -> None:
    """Record `emitter n` (N events of EVENT) into the CTF trace dest/, which exists
    only once babeltrace2 read back exactly n events from it."""
    if dest.exists():
        raise LttngError(f"{dest} exists")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    session = f"heisen-bench-{os.getpid()}"
    lttng("create", session, f"--output={tmp.resolve()}")
    try:
        # Discard mode with an infinite blocking timeout: a full sub-buffer makes the
        # app wait for the consumer instead of dropping the event (lttng-enable-channel(1);
        # the app must opt in with LTTNG_UST_ALLOW_BLOCKING).  Bigger sub-buffers than the
        # default 512 KiB x 4 let it block less often.
        lttng("enable-channel", "--userspace", f"--session={session}", "--blocking-timeout=inf",
               "--subbuf-size=4M", "--num-subbuf=4", CHANNEL)
        emit(emitter, n, session, CHANNEL)
        lttng("stop", session)   # waits until the consumer wrote every sub-buffer
    finally:
        subprocess.run(["lttng", "--no-sessiond", "destroy", session], capture_output=True)
    got = count_events(tmp)
    if got != n:
        raise LttngError(f"{tmp}: babeltrace2 read {got} events, {emitter} fired {n}")
    tmp.rename(dest)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "with-sessiond":
        print("usage: python3 -m bench.lttng_session with-sessiond CMD [ARG...]", file=sys.stderr)
        return 2
    try:
        with sessiond():
            return subprocess.run(argv[1:]).returncode
    except (LttngError, OSError) as e:
        print(f"lttng_session: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
