"""Multiboot (v1) kernels under the hypervisor (docs/multiboot-guest.md): the project's
test kernel (guest/multiboot/) started as QEMU -kernel starts it, at -smp 1 with a
module and at -smp 4 with every AP started by the kernel's own INIT-SIPI-SIPI through
the hypervisor's SIPI path; the a.out-kludge build, with an NMI the kernel sends itself
before it has an IDT (held until its LIDT, then delivered once); a kernel linked inside
the hypervisor's memory refused with the reason; a user's kernel through
`run --multiboot`.  The verdict is the kernel's own isa-debug-exit code, recorded by the
hypervisor (GUEST_EXIT) and judged by the harness."""
from __future__ import annotations

import dataclasses
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.defs import DEBUG_EXIT, EVENT_IDS, FIELD_NAMES
from harness.launch.build import REPO
from harness.judge.decoding import event_records
from harness.judge.run import RunOptions, RunResult, run_scenario
from harness.scenario import Scenario, load_named
from tests.boot_util import BUILD, decode_serial

ICR_WRITE, AP_START = EVENT_IDS["ICR_WRITE"], EVENT_IDS["AP_START"]
ACTION = FIELD_NAMES["ICR_WRITE", "action"][1]
PASS_CODE = DEBUG_EXIT["PASS"]


def run(tmp_path: Path, sc: Scenario, seed: int = 1, **opts: object) -> RunResult:
    opts.setdefault("deterministic", False)
    return run_scenario(sc, RunOptions(seed=seed, build_dir=BUILD, results_dir=tmp_path,
                                       views=False, **opts))  # type: ignore[arg-type]


def console(result: RunResult) -> str:
    return (result.run_dir / "console.txt").read_text(errors="replace")


def test_the_test_kernel_gets_its_command_line_map_and_module(tmp_path: Path) -> None:
    module = tmp_path / "mod.txt"
    module.write_bytes(b"HEISEN-MODULE payload 0123456789")
    sc = load_named("multiboot").with_overrides(append="mods=1 cpus=1 note=a,b")
    result = run(tmp_path, sc, initrd=module)
    v = result.verdict
    assert result.passed and v["outcome"] == "pass", (v.get("reason"), result.run_dir)
    assert v["guest_exit_code"] == PASS_CODE and v["guest_exit"]["cpu"] == 0
    assert v["evidence"]["checker_ran"] and v["trace"]["check"]["passed"]
    text = console(result)
    # QEMU -kernel's entry state: EAX magic, EBX the info, CS 0x08, DS 0x10, paging
    # off, IF clear, the 5-entry GDT, the BIOS's real-mode IDTR.
    assert "eax 2badb002, ebx 90100" in text and "cs 8 ds 10 ss 10 gdtr 90000/27 idtr 0/3ff" in text, text
    assert "entry: eflags 2 cr0 11" in text, text
    # The command line is module 0's whole string: path and arguments, the comma intact.
    assert "cmdline: 'multiboot.elf mods=1 cpus=1 note=a,b'" in text, text
    assert "loader: 'Heisenvisor'" in text and "hypervisor: Heisenvisor" in text
    assert "hypervisor memory: not usable in the map, not in mem_upper" in text, text
    assert "mem_lower 639 mem_upper 0" in text     # the hypervisor sits at 1 MiB
    assert "module 0: [" in text and "size 32 string 'mod.txt' head 'HEISEN-MODULE payload 01'" in text, text
    assert "HEISEN-MB: PASS" in text
    exits = [r for r in event_records(result.run_dir / "serial.bin") if r.type == EVENT_IDS["GUEST_EXIT"]]
    assert [(r.cpu, r.args[0]) for r in exits] == [(0, PASS_CODE)]


def _entry_line(text: str) -> dict[str, str]:
    line = next(line for line in text.splitlines() if line.startswith("entry: "))
    words = line.split()[1:]
    return dict(zip(words[::2], words[1::2]))


def test_bare_qemu_starts_the_same_kernel_the_same_way(tmp_path: Path) -> None:
    """The reference: QEMU's own -kernel, no hypervisor.  The kernel passes there too,
    and finds the same entry state but for the GDT's address and arithmetic flags."""
    from harness.launch.machine import Machine, MachineConfig
    module = tmp_path / "mod.txt"
    module.write_bytes(b"HEISEN-MODULE payload 0123456789")
    cfg = MachineConfig(kernel=BUILD / "multiboot.elf", initrd=module, append="mods=1 cpus=2",
                        serial_path=tmp_path / "com1", console_path=tmp_path / "console.txt", smp=2,
                        gdbstub=False)
    with Machine(cfg) as m:
        status = m.wait(60)
    bare = (tmp_path / "console.txt").read_text()
    assert status == (PASS_CODE << 1) | 1 and "HEISEN-MB: PASS" in bare, bare
    assert "cmdline: 'multiboot.elf mods=1 cpus=2'" in bare and "cpus up: 2 of 2" in bare, bare
    assert "loader: 'qemu'" in bare and "hypervisor: none found" in bare
    ours = run(tmp_path / "hv", load_named("multiboot").with_overrides(append="mods=1 cpus=2", smp=2),
               initrd=module)
    assert ours.passed, ours.verdict.get("reason")
    a, b = _entry_line(bare), _entry_line(console(ours))
    assert {k: a[k] for k in ("cr0", "cs", "ds", "ss", "idtr")} == {k: b[k] for k in ("cr0", "cs", "ds", "ss", "idtr")}
    assert a["gdtr"].split("/")[1] == b["gdtr"].split("/")[1] == "27"
    assert int(a["eflags"], 16) & 0x200 == int(b["eflags"], 16) & 0x200 == 0     # IF clear


def test_the_test_kernel_starts_every_ap_itself_at_smp4(tmp_path: Path) -> None:
    # Deterministic (one TCG thread): an AP may reach the hypervisor's SIPI wait long
    # after the BSP's guest runs; it must be in wait-for-SIPI already (core/sipi.c).
    result = run(tmp_path, load_named("multiboot-smp4"), seed=1, deterministic=True)
    v = result.verdict
    assert result.passed and v["outcome"] == "pass", (v.get("reason"), result.run_dir)
    # The full rules held, guest_reported included: every CPU reported by hypercall.
    assert v["scenario_config"]["rules"] is None and v["trace"]["check"]["passed"]
    records = event_records(result.run_dir / "serial.bin")
    started = sorted(r.args[1] for r in records if r.type == ICR_WRITE and r.args[2] == ACTION["sipi_started"])
    dropped = [r for r in records if r.type == ICR_WRITE and r.args[2] == ACTION["init_dropped"]]
    assert started == [1, 2, 3] and len(dropped) == 6, (started, len(dropped))
    assert sorted(r.cpu for r in records if r.type == AP_START) == [1, 2, 3]
    assert all(r.args[0] == 7 for r in records if r.type == AP_START)     # the trampoline's page
    reports = sorted(r.cpu for r in records if r.type == EVENT_IDS["GUEST_REPORT"] and r.args[0] == 0)
    assert reports == [0, 1, 2, 3], reports
    text = console(result)
    assert "cpus: 4 in the ACPI MADT" in text and "cpus up: 4 of 4" in text, text


def test_aout_kernel_and_an_nmi_before_its_idt(tmp_path: Path) -> None:
    # The flat a.out-kludge build; it sends itself an NMI before it has an IDT: on
    # hardware that NMI would go through the BIOS's IVT and triple-fault it.  The
    # hypervisor holds it until the kernel's LIDT, then delivers it once.  Its pass
    # code is 0x21 here, and the scenario expects exactly that.
    sc = dataclasses.replace(load_named("multiboot").with_overrides(append="early-nmi=1 pass-code=33"),
                             guest_exit_code=33)
    result = run(tmp_path, sc, kernel=BUILD / "multiboot-aout.bin")
    v = result.verdict
    assert result.passed and v["guest_exit_code"] == 33, (v.get("reason"), result.run_dir)
    text = console(result)
    assert "early NMI sent before any IDT: 0 received so far" in text, text
    assert "nmis: 1 received" in text and "HEISEN-MB: PASS (exit code 21)" in text, text
    records = event_records(result.run_dir / "serial.bin")
    assert len([r for r in records if r.type == EVENT_IDS["NMI_INJECT"]]) == 1
    _, _, hv_text = decode_serial((result.run_dir / "serial.bin").read_bytes())
    assert "multiboot: a.out kludge kernel [2000000, " in hv_text, hv_text


def _linked_at_1mib(kind: str, tmp_path: Path) -> Path:
    """The test kernel moved to 1 MiB, where most third-party kernels link."""
    if kind == "aout":
        data = bytearray((BUILD / "multiboot-aout.bin").read_bytes())
        fields = struct.unpack_from("<5I", data, 12)
        struct.pack_into("<5I", data, 12, *(f - 0x2000000 + 0x100000 if f else 0 for f in fields))
    else:
        data = bytearray((BUILD / "multiboot.elf").read_bytes())
        phoff, = struct.unpack_from("<I", data, 28)
        phnum, = struct.unpack_from("<H", data, 44)
        for i in range(phnum):
            at = phoff + 32 * i
            if struct.unpack_from("<I", data, at)[0] == 1:       # PT_LOAD: move p_paddr
                paddr, = struct.unpack_from("<I", data, at + 12)
                struct.pack_into("<I", data, at + 12, paddr - 0x2000000 + 0x100000)
    out = tmp_path / f"at-1mib-{kind}"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("kind", ["elf", "aout"])
def test_a_kernel_linked_inside_the_hypervisor_is_refused_with_the_reason(tmp_path: Path, kind: str) -> None:
    result = run(tmp_path, load_named("multiboot"), kernel=_linked_at_1mib(kind, tmp_path))
    v = result.verdict
    assert v["outcome"] == "panic" and not result.passed, v.get("reason")
    assert v["guest_exit_code"] is None
    _, _, text = decode_serial((result.run_dir / "serial.bin").read_bytes())
    assert "PANIC cpu 0: guest image inside the hypervisor's memory" in text, text
    assert "overlaps the hypervisor's memory [100000, " in text and "link it at or above" in text, text


def test_bring_your_own_kernel_through_the_cli(tmp_path: Path) -> None:
    own = tmp_path / "my kernels, v1"
    own.mkdir()
    shutil.copy(BUILD / "multiboot.elf", own / "my kernel.elf")
    (own / "data.bin").write_bytes(b"HEISEN-MODULE from the CLI")
    out = tmp_path / "results"
    r = subprocess.run([sys.executable, "-m", "harness", "run", "multiboot", "--seed", "4", "--build", str(BUILD),
                        "--multiboot", str(own / "my kernel.elf"), "--initrd", str(own / "data.bin"),
                        "--append", "mods=1 note=a,b", "--results", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "guest exit code: 0x10 (expected 0x10)" in r.stdout, r.stdout
    run_dir = next(out.iterdir())
    v = json.loads((run_dir / "verdict.json").read_text())
    assert v["passed"] and v["guest_exit_code"] == PASS_CODE and v["deterministic"]
    assert v["build"]["guest_elf"]["source"] == str(own / "my kernel.elf")
    text = (run_dir / "console.txt").read_text()
    # A name with a space would split "path args": the copy is renamed; the comma survives.
    assert "cmdline: 'kernel.elf mods=1 note=a,b'" in text, text
    assert "string 'data.bin' head 'HEISEN-MODULE from the C'" in text, text
    # Not a multiboot kernel: refused before anything runs (exit 2), with the reason.
    r = subprocess.run([sys.executable, "-m", "harness", "run", "multiboot", "--build", str(BUILD),
                        "--multiboot", str(BUILD / "guest64.elf"), "--results", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no multiboot header" in r.stdout + r.stderr, r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "harness", "run", "smoke", "--multiboot", str(own / "my kernel.elf"),
                        "--results", str(out)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "a multiboot scenario" in r.stdout + r.stderr, r.stdout + r.stderr
