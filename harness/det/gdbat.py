"""`replay RUN --gdb-at-event K`: re-run a deterministic run and stop under gdb
just as the hypervisor emits trace record K.

Record K (1-based, in the decoded trace order the timeline shows) was written by
CPU c into slot n of its ring (`locate`: n counts that CPU's records and LOST
markers before it).  Two ways to stop there:

- The replay stop (trace/replay_stop.h), in builds that have `trace_stop_key`:
  the replay runs a copy of the ELF with the key patched to (c, n); the emit that
  claims slot n calls trace_stop_here, where gdb has its one unconditional
  breakpoint.  Up to the stop the replay executes exactly the recorded run, at any
  -smp.
- Older builds: a gdb condition on trace_emit, `reserve == n` at the call's entry.  gdb then stops QEMU at every emit
  to evaluate it; measured: at -smp > 1 that re-arms QEMU's round-robin vCPU kick
  timer thousands of times, the vCPUs interleave differently from the recording,
  and the stop can land on the same CPU's slot but another event.

Either way, at the stop the registers hold the record's type and arguments (the
record is about to be written) and are checked against record K: `exact`,
`drifted` or `never stopped`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from harness.judge.decoding import describe, is_record, trace_items
from harness.launch.build import Build, BuildError, recorded_guest_files
from harness.launch.build import locate as locate_build
from harness.launch.machine import Machine
from harness.det.replay import ReplayError, load_recorded
from harness.judge.run import machine_config, make_run_dir

TEXT_CHUNK = 24


@dataclass(frozen=True)
class Target:
    k: int
    record: Any
    function: str     # trace_emit or trace_emit_text
    cpu: int
    ring_index: int   # the ring slot the emit claimed (the ring's running `reserve` count)
    text_len: int | None = None  # TEXT: the whole message's length, the call's second argument

    @property
    def condition(self) -> str:
        # Not the event type: if the run under gdb drifted (see the module
        # docstring), stopping at this CPU's slot anyway shows where it went.
        return f"((struct trace_ring *)trace_rings[{self.cpu}])->reserve == {self.ring_index}"

    def expected_registers(self) -> str:
        if self.function != "trace_emit":
            return f"registers: text_len={self.text_len}"
        # As gdb's printf %#lx writes them: C's '#' flag adds no 0x to a zero.
        args = " ".join(f"a{i}={v:#x}" if v else f"a{i}=0" for i, v in enumerate(self.record.args))
        return f"registers: type={self.record.type} {args}"


def _chunk(rec: Any) -> bytes:
    return rec.args[0] if rec.args and isinstance(rec.args[0], bytes) else b""


def _message_length(records: list[Any], k: int, head: list[Any]) -> int:
    """Bytes in the TEXT message whose chunks so far (up to record k) are `head`: they,
    and the same CPU's TEXT chunks after k up to the one that ends it."""
    chunks = list(head)
    cpu = records[k - 1].cpu
    for rec in records[k:]:
        last = _chunk(chunks[-1])
        if len(last) < TEXT_CHUNK or last.endswith(b"\n"):
            break
        if rec.cpu == cpu:
            if rec.name != "TEXT":
                break  # the message was cut short
            chunks.append(rec)
    return sum(len(_chunk(r)) for r in chunks)


def _message_start(texts: list[Any]) -> int:
    """Index in `texts` (one CPU's TEXT chunks, the last being ours) where our message starts."""
    start = 0
    for i, rec in enumerate(texts[:-1]):
        raw = rec.args[0] if rec.args and isinstance(rec.args[0], bytes) else b""
        if len(raw) < TEXT_CHUNK or raw.endswith(b"\n"):
            start = i + 1
    return start


# Loss kinds that take no slot from a ring and lose none of its records.
NOT_SLOT_LOSS = ("duplicate",)


def locate(items: list[Any], k: int) -> Target:
    """Which emit call wrote record k (1-based among the records of `items`), named by
    its CPU and the ring slot it claimed: the number of slots that CPU claimed before,
    its records and its LOST markers (a LOST record takes a slot too, and the decoder
    turns it into a Loss item)."""
    records = [item for item in items if is_record(item)]
    if not 1 <= k <= len(records):
        raise ReplayError(f"--gdb-at-event {k}: the run has trace records 1..{len(records)}")
    rec = records[k - 1]
    slots: list[Any] = []  # CPU rec.cpu's ring slots up to record k, in ring order
    seen = 0
    for item in items:
        if is_record(item):
            seen += 1
            if item.cpu == rec.cpu:
                slots.append(item)
            if seen == k:
                break
        elif item.cpu == rec.cpu and item.kind == "lost":
            slots.append(item)
        elif item.cpu == rec.cpu and item.kind not in NOT_SLOT_LOSS:
            raise ReplayError(f"record {k}: the trace lost data of CPU {rec.cpu} before it "
                              f"({item.kind}: {item.count} {item.unit}), so its ring slot "
                              f"cannot be counted; pick a record before that loss")
    index = len(slots) - 1
    if rec.name != "TEXT":
        return Target(k, rec, "trace_emit", rec.cpu, index)
    texts = [(i, r) for i, r in enumerate(slots) if is_record(r) and r.name == "TEXT"]
    first = _message_start([r for _, r in texts])
    return Target(k, rec, "trace_emit_text", rec.cpu, texts[first][0],
                  _message_length(records, k, [r for _, r in texts[first:]]))


STOP_KEY, STOP_NONE = "trace_stop_key", (1 << 64) - 1


def stop_key_offset(elf: Path) -> int | None:
    """File offset of trace_stop_key's 8 bytes in `elf`, or None if the build has no
    replay stop (older runs) or keeps it outside the file."""
    with open(elf, "rb") as f:
        image = ELFFile(f)
        symtab = image.get_section_by_name(".symtab")
        found = symtab.get_symbol_by_name(STOP_KEY) if symtab is not None else None
        if not found:
            return None
        addr = found[0]["st_value"]
        for sec in image.iter_sections():  # a loaded section with bytes in the file
            if (sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & SH_FLAGS.SHF_ALLOC
                    and sec["sh_addr"] <= addr < sec["sh_addr"] + sec["sh_size"]):
                return sec["sh_offset"] + addr - sec["sh_addr"]
    return None


def patched_build(build: Build, target: Target, out_dir: Path) -> Build | None:
    """A copy of the run's hv.elf32 and guest files (module 0 and, for Linux or a
    multiboot kernel, module 1) under out_dir/build with the stop key set to target's
    (CPU, slot), or None if the build has no replay stop.  Every file keeps its name, so
    QEMU's -kernel/-initrd words (which the hypervisor reads) do not change."""
    offset = stop_key_offset(build.hv_elf32)
    if offset is None:
        return None
    copy = out_dir / "build"
    copy.mkdir(parents=True, exist_ok=True)
    modules = [m for m in (build.guest_elf, build.initrd) if m is not None]
    for module in modules:
        shutil.copy2(module, copy / module.name)
    image = bytearray(build.hv_elf32.read_bytes())
    if int.from_bytes(image[offset:offset + 8], "little") != STOP_NONE:
        raise ReplayError(f"{build.hv_elf32}: {STOP_KEY} is not {STOP_NONE:#x}; not a build "
                          "this replay understands")
    key = target.cpu << 48 | target.ring_index
    image[offset:offset + 8] = key.to_bytes(8, "little")
    (copy / "hv.elf32").write_bytes(bytes(image))
    return dataclasses.replace(build, hv_elf32=copy / "hv.elf32", guest_elf=copy / build.guest_elf.name,
                               initrd=copy / build.initrd.name if build.initrd is not None else None)


def gdb_commands(target: Target, hv_elf: Path, socket: Path, script: Path | None,
                 replay_stop: bool = False) -> str:
    where = f"record {target.k}: {target.function} on CPU {target.cpu}, ring slot {target.ring_index}"
    # $_thread, not `break ... thread N`: gdb dropped such breakpoints
    # ("thread 2 no longer in the thread list") while vCPUs came up.
    stop = ("break trace_stop_here" if replay_stop else
            f"break {target.function} if $_thread == {target.cpu + 1} && {target.condition}")
    lines = ["set pagination off", "set confirm off", f"file {hv_elf}",
             "set architecture i386:x86-64", f"target remote {socket}",
             stop, "continue", "delete 1", f'echo \\n=== stopped at trace {where} ===\\n']
    if target.function == "trace_emit":
        lines.append('printf "registers: type=%d a0=%#lx a1=%#lx a2=%#lx\\n", '
                     '$rdi, $rsi, $rdx, $rcx')
    else:  # trace_emit_text(s, n), or trace_stop_here(s, n, 0, 0): n is in rsi either way
        lines.append('printf "registers: text_len=%d\\n", $rsi')
    lines.append("bt")
    if script is not None:
        lines.append(f"source {script.resolve()}")
    return "\n".join(lines) + "\n"


async def _wait_until_up(machine: Machine) -> None:
    # gdb's `continue` resumes the VM; QMP is only used to see that QEMU is up
    # (its gdb socket listening) before gdb connects.
    why = await machine.connect_qmp()
    if why is not None:
        raise ReplayError(f"QEMU did not come up for gdb: {why}")
    await machine.close_qmp(quit=False)


def gdb_at_event(run_dir: Path, k: int, script: Path | None, console: Console,
                 timeout: float = 600.0) -> int:
    rec = load_recorded(run_dir)
    if rec.rr_file is not None:
        raise ReplayError("--gdb-at-event replays deterministic (icount) runs; this is an rr run")
    items = trace_items(rec.run_dir / "serial.bin")
    target = locate(items, k)
    # describe() renders the record alone, so its own index column is meaningless.
    shown = describe(target.record).split(None, 1)[-1]
    console.print(f"trace record {k} of {sum(map(is_record, items))} (1-based; timeline.txt counts from 0): "
                  f"{shown}", highlight=False)
    out_dir = make_run_dir(rec.run_dir / "gdb", rec.scenario.name, rec.seed)
    build_dir = rec.run_dir / "build"
    try:
        build = locate_build(build_dir, rec.scenario.guest, *recorded_guest_files(rec.verdict, build_dir))
    except BuildError as exc:
        raise ReplayError(f"{rec.run_dir}: its build copy is incomplete: {exc}") from None
    patched = patched_build(build, target, out_dir)
    how = ("replay stop: one breakpoint, on trace_stop_here" if patched else
           "no replay stop in this build: a gdb condition on every emit (can drift at -smp > 1)")
    console.print(f"  {how}", highlight=False)
    # The run's own machine (run.machine_config: a Linux run's console port and
    # modules, an OS guest's icount shift), paused for gdb, output in out_dir.
    config = dataclasses.replace(
        machine_config(rec.scenario, patched or build, out_dir, rec.hv_cmdline, deterministic=True,
                       rr=None, rr_file=None, nmi_com2=False, ram_file=None, qemu_args=rec.extra_args),
        start_paused=True)
    with Machine(config) as machine:
        asyncio.run(_wait_until_up(machine))
        with tempfile.NamedTemporaryFile("w", suffix=".gdb", dir=out_dir, delete=False) as f:
            f.write(gdb_commands(target, build.hv_elf, machine.gdb_socket, script,
                                 replay_stop=patched is not None))
        argv = ["gdb", "-nx", "-q", "-x", f.name]
        started = time.monotonic()
        if script is not None:
            proc = subprocess.run(["gdb", "-batch", "-nx", "-x", f.name], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout)
            (out_dir / "gdb.txt").write_text(proc.stdout)
            console.print(proc.stdout, highlight=False, markup=False)
            console.print(f"gdb output: {out_dir / 'gdb.txt'} ({time.monotonic() - started:.1f}s)",
                          highlight=False)
            if "=== stopped at trace record" not in proc.stdout:
                console.print("[bold red]never stopped[/]: the run under gdb did not reach that "
                              "ring slot", highlight=False)
                return 1
            expected = target.expected_registers()
            if expected not in proc.stdout:
                console.print(f"[bold yellow]drifted[/]: stopped at CPU {target.cpu}'s slot "
                              f"{target.ring_index}, but the recording has `{expected}` there "
                              f"(breakpoint stops changed the vCPU interleaving)", highlight=False)
                return 3
            console.print(f"[bold green]exact[/]: the registers match record {k}", highlight=False)
            return 0
        console.print(f"starting gdb (commands in {f.name}); quit gdb to stop QEMU", highlight=False)
        return subprocess.run(argv).returncode
