"""The guests' workload-string parser (guest/common/workload_parse.c), built
for the host with ASan/UBSan and driven line by line."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

ROOT = Path(__file__).resolve().parents[2]
OK, EMPTY_NAME, BAD_NAME, EMPTY_ARG, BAD_DIGIT, OVERFLOW = range(6)
U64_MAX = 2**64 - 1


@pytest.fixture(scope="module")
def parse(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required (make deps)")
    exe = tmp_path_factory.mktemp("parse") / "parse_driver"
    subprocess.run(["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-iquote", str(ROOT / "guest/common"),  # not -I: guest/common/string.h is not libc's
                    str(ROOT / "tests/guest/parse_driver.c"),
                    str(ROOT / "guest/common/workload_parse.c"), "-o", str(exe)],
                   check=True)

    def run(strings: list[str]) -> list[tuple]:
        r = subprocess.run([str(exe)], input="".join(s + "\n" for s in strings),
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out = []
        for line in r.stdout.splitlines():
            f = line.split(" ", 3)
            out.append((int(f[0]),) if len(f) == 1 else (int(f[0]), int(f[1]), int(f[2]), f[3]))
        assert len(out) == len(strings)
        return out
    return run


CASES = [
    ("hello", (OK, 0, 0, "hello")),
    ("test:1000", (OK, 1, 1000, "test")),
    ("test:0", (OK, 1, 0, "test")),
    ("test:007", (OK, 1, 7, "test")),            # leading zeros are decimal, not octal
    ("poke:0x100000", (OK, 1, 0x100000, "poke")),
    ("poke:0XfeE00000", (OK, 1, 0xFEE00000, "poke")),
    ("nmi-self:3", (OK, 1, 3, "nmi-self")),
    ("pal_demo:2", (OK, 1, 2, "pal_demo")),
    ("test:18446744073709551615", (OK, 1, U64_MAX, "test")),
    ("test:18446744073709551616", (OVERFLOW,)),
    ("test:99999999999999999999", (OVERFLOW,)),
    ("poke:0xffffffffffffffff", (OK, 1, U64_MAX, "poke")),
    ("poke:0x10000000000000000", (OVERFLOW,)),
    ("poke:0x00000000000000000001", (OK, 1, 1, "poke")),  # leading zeros never overflow
    ("", (EMPTY_NAME,)),
    (":5", (EMPTY_NAME,)),
    ("test:", (EMPTY_ARG,)),
    ("poke:0x", (EMPTY_ARG,)),
    ("test:12a", (BAD_DIGIT,)),
    ("test: 5", (BAD_DIGIT,)),
    ("test:-1", (BAD_DIGIT,)),
    ("test:5:6", (BAD_DIGIT,)),
    ("poke:0xg", (BAD_DIGIT,)),
    ("Test:1", (BAD_NAME,)),
    ("test 1000", (BAD_NAME,)),
    ("hello ", (BAD_NAME,)),
]


def test_known_strings(parse) -> None:
    got = parse([s for s, _ in CASES])
    for (s, want), g in zip(CASES, got):
        assert g == want, s


name_st = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)


@settings(max_examples=50, deadline=None)
@given(names=st.lists(name_st, min_size=1, max_size=20),
       values=st.lists(st.integers(0, U64_MAX), min_size=20, max_size=20))
def test_decimal_and_hex_round_trip(parse, names, values) -> None:
    strings, want = [], []
    for name, v in zip(names, values):
        strings += [f"{name}:{v}", f"{name}:{v:#x}", name]
        want += [(OK, 1, v, name), (OK, 1, v, name), (OK, 0, 0, name)]
    assert parse(strings) == want


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=126, blacklist_characters="\n"),
                        max_size=40), min_size=1, max_size=30))
def test_arbitrary_strings_never_misparse(parse, strings) -> None:
    # ASan/UBSan abort the driver on any out-of-bounds read or overflow;
    # a string accepted must be exactly NAME[:NUMBER].
    for s, g in zip(strings, parse(strings)):
        if g[0] != OK:
            continue
        name, sep, arg = s.partition(":")
        assert g[3] == name
        assert g[1] == (sep == ":")
        if sep:
            assert g[2] == (int(arg[2:], 16) if arg[:2].lower() == "0x" else int(arg, 10))
