"""The hypervisor's options as one typed value (harness/hv_options.py) and the check of
the hypervisor's echo of them (the OPTIONS trace record, hv/core/main.c).

HvOptions is the only code that writes or reads the `key=value` line: it must round
trip, refuse what the hypervisor refuses, and read a line as the hypervisor's own
parser does (hv/core/cmdline.c hv_options_parse, on the host).  After a run the
OPTIONS record must say what QEMU was told, or the run is an `error`."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoder.defs import EVENT_IDS, NMI_EDU_MAX_US
from decoder.records import Record
from harness.judge import run as runmod
from harness.launch.build import REPO
from harness.hv_options import (U64_MAX, HvOptions, HvOptionsError, check_echo, mismatch,
                                parsed_from_record)
from harness.judge.run import RunOptions, _judge, _Watch, run_scenario
from harness.scenario import load, load_named
from tests.host_c import build_driver

WORKLOADS = st.sampled_from(["hello", "test:100", "test:0x10", "poke", "poke:0x180000", "pal_demo:50",
                             "test-sleep:300"])
U64 = st.one_of(st.none(), st.integers(0, 20), st.integers(0, U64_MAX))
SWITCH = st.one_of(st.none(), st.booleans())
OPTIONS = st.builds(
    HvOptions, wl=st.one_of(st.none(), WORKLOADS),
    cpu_wl=st.dictionaries(st.integers(0, 99), WORKLOADS, max_size=3).map(lambda d: tuple(sorted(d.items()))),
    seed=U64, nmi_every=U64, nmi_com2=SWITCH, testhc=SWITCH,
    trace=st.sampled_from([None, "record", "mem", "e9"]), rdtsc_exit=SWITCH,
    nmi_edu=st.one_of(st.none(), st.integers(0, NMI_EDU_MAX_US)))


@given(OPTIONS)
def test_render_then_parse_is_the_same_options(o: HvOptions) -> None:
    assert HvOptions.parse(o.render()) == o


def test_a_full_line_parses_to_its_fields_and_renders_in_the_harness_order() -> None:
    o = HvOptions.parse("  trace=mem wl1=poke rdtsc_exit=1 seed=0x5   testhc=1 wl=test:100 nmi_com2=1 nmi_every=7 ")
    assert o == HvOptions(wl="test:100", cpu_wl=((1, "poke"),), seed=5, nmi_every=7, nmi_com2=True,
                          testhc=True, trace="mem", rdtsc_exit=True)
    assert o.render() == "wl=test:100 wl1=poke seed=5 nmi_every=7 nmi_com2=1 testhc=1 trace=mem rdtsc_exit=1"
    assert HvOptions.parse("") == HvOptions() and HvOptions().render() == ""


@pytest.mark.parametrize("line,why", [
    ("foo=1", "'foo=1': unknown option"),
    ("wl01=hello", "'wl01=hello': unknown option"),
    ("wl100=hello", "'wl100=hello': unknown option"),
    ("seed=abc", "'seed=abc': not a number"),
    ("seed=12x", "'seed=12x': not a number"),
    ("seed=0x", "'seed=0x': not a number"),
    ("seed=-1", "'seed=-1': not a number"),
    ("nmi_every=18446744073709551616", "not a number"),
    ("seed=1 wl=hello seed=2", "'seed=2': option given twice"),
    ("wl=a wl=b", "'wl=b': option given twice"),
    ("nmi_com2=2", "'nmi_com2=2': expected 0 or 1"),
    ("testhc=yes", "'testhc=yes': expected 0 or 1"),
    ("rdtsc_exit=on", "'rdtsc_exit=on': expected 0 or 1"),
    ("nmi_edu=10000001", "'nmi_edu=10000001': at most 10000000 (us)"),
    ("nmi_edu=soon", "'nmi_edu=soon': not a number"),
    ("trace=uart", "'trace=uart': expected trace=record, trace=mem or trace=e9"),
    ("wl", "'wl': expected key=value"),
    ("=5", "'=5': expected key=value"),
    ("wl=", "a workload is NAME"),
    ("wl=test:" + "0" * 58 + "1", "value longer than 63"),
])
def test_a_line_the_hypervisor_refuses_is_refused_with_the_word(line: str, why: str) -> None:
    with pytest.raises(HvOptionsError, match="") as exc:
        HvOptions.parse(line)
    assert why in str(exc.value), str(exc.value)


def test_with_replaces_and_validates() -> None:
    o = HvOptions(wl="hello", seed=1)
    assert o.with_(seed=None, trace="mem").render() == "wl=hello trace=mem"
    assert o.with_(cpu_wl={3: "poke", 1: "hello"}).cpu_wl == ((1, "hello"), (3, "poke"))
    for bad in ({"seed": -1}, {"seed": U64_MAX + 1}, {"nmi_every": True}, {"trace": "uart"},
                {"nmi_com2": 1}, {"wl": "a b"}, {"cpu_wl": {100: "hello"}}, {"nmi_edu": NMI_EDU_MAX_US + 1},
                {"nmi_edu": True}):
        with pytest.raises(HvOptionsError):
            o.with_(**bad)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("options"), "cmdline_driver", "hv/core/cmdline.c")


@settings(max_examples=60, deadline=None)
@given(OPTIONS)
def test_the_hypervisor_parses_a_line_as_the_harness_does(driver: Path, o: HvOptions) -> None:
    r = subprocess.run([str(driver), "options", o.render()], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    seed, nmi_every, flags = (int(x) for x in r.stdout.split())
    assert parsed_from_record(seed, nmi_every, flags) == o.echo(), (o.render(), r.stdout)


def rec(event: str, *args: int) -> Record:
    return Record(1000, 0, EVENT_IDS[event], args)


FLAGS = {"seed_given": 1, "nmi_com2": 2, "testhc": 4, "trace_record": 8, "trace_mem": 16,
         "rdtsc_exit": 32, "nmi_edu": 64, "trace_e9": 128}  # events.toml


def test_the_flag_bits_are_the_documented_ones() -> None:
    from decoder.defs import FIELD_NAMES
    assert FIELD_NAMES[("OPTIONS", "flags")] == (True, FLAGS)


@pytest.mark.parametrize("sent,record,why", [
    ("wl=hello seed=5", (5, 0, 1), None),
    ("wl=hello seed=5 nmi_every=7 nmi_com2=1 testhc=1 trace=mem", (5, 7, 1 | 2 | 4 | 16), None),
    ("wl=hello", (0, 0, 0), None),
    ("wl=hello seed=5", (6, 0, 1), "the hypervisor parsed seed=6, the harness sent seed=5"),
    ("wl=hello seed=0", (0, 0, 0), "the hypervisor parsed no seed, the harness sent seed=0"),
    ("seed=1 nmi_every=9", (1, 8, 1), "the hypervisor parsed nmi_every=8, the harness sent nmi_every=9"),
    ("trace=mem", (0, 0, 8), "the hypervisor parsed trace=record, the harness sent trace=mem"),
    ("trace=mem", (0, 0, 0), "the hypervisor parsed no trace=, the harness sent trace=mem"),
    ("nmi_com2=1", (0, 0, 0), "the hypervisor parsed nmi_com2=0, the harness sent nmi_com2=1"),
    ("wl=hello", (0, 0, 4), "the hypervisor parsed testhc=1, the harness sent testhc=0"),
    ("wl=hello rdtsc_exit=1", (0, 0, 32), None),
    ("wl=hello", (0, 0, 32), "the hypervisor parsed rdtsc_exit=1, the harness sent rdtsc_exit=0"),
    ("rdtsc_exit=1", (0, 0, 0), "the hypervisor parsed rdtsc_exit=0, the harness sent rdtsc_exit=1"),
    ("seed=1 nmi_edu=10000", (1, 0, 1 | 64), None),
    ("seed=1 nmi_edu=10000", (1, 0, 1), "the hypervisor parsed no nmi_edu, the harness sent nmi_edu on"),
    ("wl=hello trace=e9", (0, 0, 128), None),
    ("trace=e9", (0, 0, 0), "the hypervisor parsed no trace=, the harness sent trace=e9"),
    ("trace=e9", (0, 0, 16), "the hypervisor parsed trace=mem, the harness sent trace=e9"),
    ("trace=e9", (0, 0, 128 | 16), "the hypervisor parsed trace=mem+e9, the harness sent trace=e9"),
    ("wl=hello", (0, 0, 256), "flag bits 0x100"),
])
def test_the_echo_is_held_against_what_was_sent(sent: str, record: tuple[int, int, int],
                                                why: str | None) -> None:
    entry, error = check_echo(sent, [rec("BOOT", 2, 1000, 1), rec("OPTIONS", *record)])
    assert entry["sent"] == HvOptions.parse(sent).echo() and entry["parsed"]["seed"] == record[0]
    if why is None:
        assert error is None
    else:
        assert error is not None and why in error, error


def test_a_boot_without_an_echo_is_an_error_unless_the_hypervisor_panicked() -> None:
    boot = rec("BOOT", 2, 1000, 1)
    assert "no OPTIONS record" in (check_echo("seed=1", [boot])[1] or "")
    # Refused command line, TRACE=off build, fake hypervisor: no BOOT, nothing to compare.
    assert check_echo("seed=1", [rec("PANIC", 1, 0, 0)]) == ({"sent": HvOptions(seed=1).echo(), "parsed": None},
                                                              None)
    assert check_echo("seed=1", [boot, rec("PANIC", 1, 0, 0)])[1] is None
    assert check_echo("seed=1", None)[1] is None
    assert "2 OPTIONS records" in (check_echo("seed=1", [boot, rec("OPTIONS", 1, 0, 1), rec("OPTIONS", 1, 0, 1)])[1]
                                   or "")
    # A line the harness calls invalid cannot have been run as written.
    entry, error = check_echo("wl=hello custom=1", [boot, rec("OPTIONS", 0, 0, 0)])
    assert entry["sent"] is None and error is not None and "custom=1" in error


def test_mismatch_names_every_differing_option() -> None:
    why = mismatch(HvOptions(seed=5, testhc=True).echo(), parsed_from_record(6, 3, 1))
    assert why == ("the hypervisor parsed seed=6, the harness sent seed=5; the hypervisor parsed nmi_every=3, "
                   "the harness sent nmi_every=0; the hypervisor parsed testhc=0, the harness sent testhc=1")


def test_an_options_error_makes_any_outcome_an_error() -> None:
    sc = load_named("smoke")
    trace: dict[str, Any] = {"check": {"passed": True, "rule": None}}
    for outcome in ("pass", "fail", "panic", "hang"):
        got = _judge(sc, _Watch(outcome=outcome, reason="r"), trace, options_error="the hypervisor parsed x")
        assert got == ("error", "the hypervisor parsed x", False, None), outcome
    assert _judge(sc, _Watch(outcome="interrupted", reason="r"), trace, options_error="x")[0] == "interrupted"
    assert _judge(sc, _Watch(outcome="pass", reason="r"), trace)[:3] == ("pass", "r", True)


# Real boots: the hypervisor's echo of a deterministic run's and of a trace=mem run's options.

def nmi_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "opts.toml"
    path.write_text('smp = 2\ntimeout = 60\nhang_timeout = 10\n[workloads]\ndefault = "test:200"\n'
                    '[nmi]\npattern = "interval"\ninterval = 0.01\n')
    return path


def test_a_deterministic_run_echoes_its_seed_and_nmi_rate(tmp_path: Path) -> None:
    res = run_scenario(load(nmi_scenario(tmp_path)),
                       RunOptions(seed=5, build_dir=REPO / "build", results_dir=tmp_path, deterministic=True,
                                  views=False))
    assert res.outcome == "pass", res.verdict.get("reason")
    k = res.verdict["schedule"]["nmi_every"]
    assert k > 0
    assert res.verdict["hv_options"] == {
        "sent": {"seed": 5, "seed_given": True, "nmi_every": k, "nmi_com2": False, "testhc": False,
                 "trace": "stream", "rdtsc_exit": False, "nmi_edu": False},
        "parsed": {"seed": 5, "seed_given": True, "nmi_every": k, "nmi_com2": False, "testhc": False,
                   "trace": "stream", "rdtsc_exit": False, "nmi_edu": False}}


def test_a_trace_mem_run_echoes_trace_mem(tmp_path: Path) -> None:
    res = run_scenario(load(nmi_scenario(tmp_path)),
                       RunOptions(seed=3, build_dir=REPO / "build", results_dir=tmp_path, transport="mem",
                                  views=False))
    assert res.outcome == "pass", res.verdict.get("reason")
    opts = res.verdict["hv_options"]
    assert opts["parsed"] == opts["sent"] and opts["parsed"]["trace"] == "mem", opts
    assert not opts["parsed"]["seed_given"]


def test_options_the_hypervisor_did_not_parse_as_sent_make_the_run_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness believes it sent seed=6 (as if a -append of its own had been lost);
    the hypervisor really got and parsed seed=5, and says so."""
    real = runmod.hv_cmdline_ran

    def believed(append: str, qemu_args: list[str]) -> dict[str, str]:
        ran = real(append, qemu_args)
        assert "seed=5" in ran["ran"].split()
        return {**ran, "ran": ran["ran"].replace("seed=5", "seed=6")}
    monkeypatch.setattr(runmod, "hv_cmdline_ran", believed)
    res = run_scenario(load(nmi_scenario(tmp_path)),
                       RunOptions(seed=5, build_dir=REPO / "build", results_dir=tmp_path, deterministic=True,
                                  views=False))
    assert res.outcome == "error" and not res.passed, res.verdict.get("reason")
    assert res.verdict["reason"] == "the hypervisor parsed seed=5, the harness sent seed=6"
    assert res.verdict["hv_options"]["parsed"]["seed"] == 5 and res.verdict["hv_options"]["sent"]["seed"] == 6
