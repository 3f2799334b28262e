"""QEMU record/replay at -smp 1 with host NMIs (QEMU does not record QMP inject-nmi).

The recording sends each NMI as a byte on COM2, which QEMU records and the
hypervisor turns into a self-NMI (harness/launch/rr.py); the replay must be
byte-identical without any help from the harness.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from harness.launch.build import REPO
from harness.launch.machine import Machine, MachineConfig
from harness.launch.nmi import NmiInjector, NmiPattern
from harness.det.replay import normalized, replay
from harness.hv_options import HvOptions
from harness.launch.rr import GRACE_S, REQUEST_BYTE, STALL_S, Com2NmiSink, StallReinjector
from harness.judge.run import RunOptions, run_scenario
from harness.scenario import load


def test_rr_record_with_host_nmis_replays_byte_identically(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text('smp = 1\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "test:12000"\n'
                    '[nmi]\npattern = "interval"\ninterval = 0.1\n')
    rec = run_scenario(load(path), RunOptions(seed=3, build_dir=REPO / "build",
                                              results_dir=tmp_path, rr="record"))
    assert rec.outcome == "pass", json.dumps(rec.verdict, indent=1)[:2000]
    argv = rec.verdict["qemu"]["command_line"]
    assert "rr=record" in " ".join(argv)
    assert rec.verdict["rr"]["nmi_channel"] == "com2"
    assert "nmi_com2=1" in argv[argv.index("-append") + 1].split()
    sent = rec.verdict["nmi"]["sent"]
    assert sent >= 3 and rec.verdict["rr"]["nmi_requests"] == sent
    # The hypervisor took them as NMIs (a request still in flight when the
    # guest finished is not taken).
    host_nmis = rec.verdict["trace"]["summary"]["cpus"]["0"]["nmi"]["host"]
    assert 3 <= host_nmis <= sent, (host_nmis, sent)

    rep = replay(rec.run_dir)
    assert rep.identical, rep.as_dict()
    assert rep.result.outcome == "pass"
    assert "rr=replay" in " ".join(rep.result.verdict["qemu"]["command_line"])
    # Nothing was sent again: the NMI requests came back from QEMU's log.
    assert rep.result.verdict["nmi"]["sent"] == 0
    assert "reinjected_at_icounts" not in rep.result.verdict["rr"]
    assert rep.result.verdict["trace"]["summary"]["cpus"]["0"]["nmi"]["host"] == host_nmis


# --- without QEMU ----------------------------------------------------------


class FakeQMP:
    """Records commands; answers query-replay with a fixed icount."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    async def execute(self, command: str, arguments: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Any:
        self.commands.append(command)
        return {"icount": 7} if command == "query-replay" else {}


def test_com2_sink_turns_each_inject_nmi_into_one_byte_and_sends_no_qmp_nmi(tmp_path: Path) -> None:
    sock = tmp_path / "nmi.sock"

    async def main() -> tuple[bytes, FakeQMP, NmiInjector, Com2NmiSink, Any]:
        got = bytearray()
        done = asyncio.Event()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(64):
                got.extend(chunk)
            done.set()
            writer.close()

        server = await asyncio.start_unix_server(on_connect, path=str(sock))
        qmp = FakeQMP()
        sink = Com2NmiSink(qmp, sock)  # type: ignore[arg-type]
        injector = NmiInjector(sink, NmiPattern(kind="interval", interval=0.0, count=5), seed=1)
        await injector.run()
        other = await sink.execute("query-replay")  # anything else still goes to QMP
        await sink.close()
        await asyncio.wait_for(done.wait(), 5)
        server.close()
        await server.wait_closed()
        return bytes(got), qmp, injector, sink, other

    got, qmp, injector, sink, other = asyncio.run(main())
    assert got == REQUEST_BYTE * 5
    assert qmp.commands == ["query-replay"] and other == {"icount": 7}
    assert injector.sent == 5 and injector.stopped_because == "pattern done"
    assert sink.stats() == {"nmi_channel": "com2", "nmi_requests": 5}


def test_com2_sink_without_its_socket_stops_the_injector_as_qemu_gone(tmp_path: Path) -> None:
    sink = Com2NmiSink(FakeQMP(), tmp_path / "absent.sock")  # type: ignore[arg-type]
    injector = NmiInjector(sink, NmiPattern(kind="interval", interval=0.0, count=3), seed=1)
    asyncio.run(injector.run())
    assert injector.sent == 0 and injector.stopped_because == "QEMU went away"
    assert "COM2" in (injector.last_error or "")


def test_com2_port_is_the_second_serial_and_replay_argv_matches_record() -> None:
    def argv(mode: str, where: str) -> list[str]:
        m = Machine(MachineConfig(kernel=Path(where) / "hv.elf32", initrd=Path(where) / "guest64.elf",
                                  append=HvOptions(wl="test:1", nmi_com2=True).render(), serial_path=Path(where) / "serial.bin",
                                  smp=1, rr=mode, rr_file=Path(where) / "replay.bin", nmi_com2=True))
        try:
            return m.command_line()
        finally:
            m.shutdown()

    rec, rep = argv("record", "/runs/a"), argv("replay", "/runs/a/replays/b")
    serials = [rec[i + 1] for i, a in enumerate(rec) if a == "-serial"]
    assert len(serials) == 2 and serials[0].startswith("file:")  # COM1: the trace
    assert serials[1].startswith("unix:") and serials[1].endswith("/nmi.sock,server=on,wait=off")
    assert normalized(rec) == normalized(rep)  # check_argv accepts the replay


def observe_all(r: StallReinjector, samples: list[tuple[float, int | None]]) -> None:
    async def main() -> None:
        for wall, icount in samples:
            await r.observe(wall, icount)
    asyncio.run(main())


def test_legacy_reinjector_resends_only_at_a_stall_at_or_past_the_recorded_icount() -> None:
    qmp = FakeQMP()
    r = StallReinjector(qmp, [1000, None, 5000])  # type: ignore[arg-type]
    # A stall before the first recorded injection is the host, not a missing NMI.
    observe_all(r, [(0.0, 900), (1.0, 900), (2.0, 900)])
    assert r.sent_at == [] and qmp.commands == []
    # At or past it, a stall of STALL_S gets exactly one inject-nmi.
    observe_all(r, [(2.1, 1200), (2.1 + STALL_S / 2, 1200)])
    assert r.sent_at == []
    observe_all(r, [(2.2 + STALL_S, 1200), (3.0, 1200), (4.0, 1200)])
    assert r.sent_at == [1200] and qmp.commands == ["inject-nmi"]
    assert r.may_still_be_stalled_on_nmi(2.2 + STALL_S + GRACE_S / 2)
    assert not r.may_still_be_stalled_on_nmi(2.2 + STALL_S + GRACE_S * 2)
    # The next one is due only at the next recorded icount (the None is skipped).
    observe_all(r, [(5.0, 3000), (6.0, 3000), (6.1, 5000), (6.2 + STALL_S, 5000)])
    assert r.sent_at == [1200, 5000]
    # Past the last recorded NMI nothing is missing.
    observe_all(r, [(7.0, 9000), (9.0, 9000), (9.1, None), (9.5, 9000)])
    assert r.sent_at == [1200, 5000] and r.stats()["reinject_errors"] == []


def test_legacy_reinjector_with_nothing_recorded_never_sends() -> None:
    qmp = FakeQMP()
    r = StallReinjector(qmp, [])  # type: ignore[arg-type]
    observe_all(r, [(0.0, 10), (5.0, 10)])
    assert r.sent_at == [] and qmp.commands == []
