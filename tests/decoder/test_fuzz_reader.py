"""Hypothesis fuzzing of the reader: truncation, corruption, duplication, garbage.

The invariants live in tests/support/fuzz.py (shared with `make fuzz-decoder`):
no crash, no invented records, intact frames always recovered (resync
within one frame), and no silent loss.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzz import Mutation, apply, base_capture, check_invariants
from decoder.reader import read_items
from decoder.records import Loss, Record

BASES = [base_capture(seed, ncpus=1 + seed % 3, nrec=25, per_frame=1 + seed % 4) for seed in range(4)]


@st.composite
def mutated(draw):  # type: ignore[no-untyped-def]
    data, frames = BASES[draw(st.integers(0, len(BASES) - 1))]
    n = len(data)
    muts = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "duplicate"]))
        pos = draw(st.integers(0, n))
        if op == "flip":
            muts.append(Mutation("flip", min(pos, n - 1), xor=draw(st.integers(1, 255))))
        elif op == "truncate":
            muts.append(Mutation("truncate", pos))
        elif op == "insert":
            muts.append(Mutation("insert", pos, data=draw(st.binary(min_size=1, max_size=16))))
        else:
            a = draw(st.integers(0, n - 1))
            muts.append(Mutation("insert", pos, data=data[a:a + draw(st.integers(1, 60))]))
    return data, frames, muts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_reader_invariants_under_mutation(case) -> None:  # type: ignore[no-untyped-def]
    data, frames, muts = case
    assert check_invariants(data, frames, muts) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    items = list(read_items(data))
    assert all(type(i) in (Record, Loss) for i in items)
    if data.strip(b"\0"):
        assert items, "non-empty junk must be reported"


def test_mutation_helper_really_damages() -> None:
    # The invariants are only meaningful if a flip is seen as loss.
    data, frames, = BASES[0]
    start, end, _ = frames[2]
    bad = apply(data, [Mutation("flip", start + 3, xor=0x10)])
    kinds = [i.kind for i in read_items(bad) if type(i) is Loss]
    assert kinds and kinds[0] in ("crc", "garbage")
    assert check_invariants(data, frames, [Mutation("flip", start + 3, xor=0x10)]) is None


def test_a_leading_delimiter_then_a_cut_at_a_frame_end_is_a_clean_prefix() -> None:
    # Found by hypothesis: a 0x00 inserted before the first frame and a cut right
    # before a frame's delimiter leave every frame up to the cut intact; the frames
    # after it were never sent, which is no loss.
    data, frames = BASES[0]
    end = frames[-5][1]
    assert data[end] == 0
    muts = [Mutation("truncate", end), Mutation("insert", 0, data=b"\0")]
    items = list(read_items(apply(data, muts)))
    assert not [i for i in items if type(i) is Loss]
    assert sum(type(i) is Record for i in items) == sum(len(r) for _, _, r in frames[:-4])
    assert check_invariants(data, frames, muts) is None


def test_zeroed_frame_start_then_cut_is_a_clean_prefix() -> None:
    # Found by hypothesis: a flip that turns the byte after a delimiter into
    # 0x00, then a cut right after it, leaves an undamaged prefix plus an empty
    # piece; nothing is missing that a stopped machine would have sent.
    data, frames = BASES[0]
    start = frames[5][0]
    muts = [Mutation("flip", start, xor=data[start]), Mutation("truncate", start + 1)]
    assert not [i for i in read_items(apply(data, muts)) if type(i) is Loss]
    assert check_invariants(data, frames, muts) is None
