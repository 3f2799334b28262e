"""The expected-sequence checker: a generic engine over rules written as data.

decoder/rules.toml holds the rules; each rule kind (forbid, assert, pair,
epoch, tally, require) is one class in decoder/rule_kinds.py, and a rule is
an instance built from its TOML table.  The engine streams: it keeps the
rules' per-CPU and per-epoch state plus `context` items of history, never
the whole trace.
"""
from __future__ import annotations

import tomllib
from collections import deque
from itertools import chain
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

from decoder.defs import EVENT_IDS, EVENTS
from decoder.expr import RuleError
from decoder.records import Item, Loss, Record
from decoder.rule_kinds import KINDS, Context, Rule, env_of
from decoder.views.stats import NOT_DATA_LOSS
from decoder.views.markdown import markdown_table

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
# Loss kinds whose unit is bytes of input that did not decode.
DAMAGE_KINDS = frozenset({"crc", "garbage", "truncated"})
CONTEXT = 8
# Items a suspect violation may wait for the other CPUs to speak (Checker._hold):
# past it, a CPU that stays silent is taken as having lost nothing.
HOLD_LIMIT = 1 << 16
CPU_UP_ID, BOOT_ID = EVENT_IDS["CPU_UP"], EVENT_IDS["BOOT"]


@dataclass
class CheckResult:
    passed: bool
    rule: str | None
    message: str
    window: str
    counts: dict = field(default_factory=dict)
    index: int | None = None
    event: str | None = None     # the record that broke the rule; None for an end-of-trace rule
    # Set when there is no verdict: the evidence was too thin to judge (no records, more
    # damaged bytes than intact ones).  passed is then False and rule None.
    error: str | None = None

    @property
    def evidence(self) -> dict:
        """What the verdict rests on: records checked, rules run, damage seen."""
        c = self.counts
        return {"records": c.get("records", 0), "rules": len(c.get("rules", {})),
                "damaged_bytes": c.get("damaged_bytes", 0), "input_bytes": c.get("input_bytes")}

    def summary(self) -> str:
        """One line naming the verdict and its evidence (the CLI prints this)."""
        e = self.evidence
        basis = f"{e['records']} records checked by {e['rules']} rules"
        if e["damaged_bytes"]:
            basis += f", {e['damaged_bytes']} damaged bytes"
        if self.error is not None:
            return f"check: ERROR no verdict: {self.error} ({basis})"
        if self.passed:
            loss = self.counts.get("loss") or "none"
            return f"check: {self.message} ({basis}, loss {loss})"
        return f"check: FAIL rule {self.rule}: {self.message} ({basis})"


def load_rules(path: str | Path | None, ctx: Context) -> list[Rule]:
    p = Path(path) if path else DEFAULT_RULES
    try:
        data = tomllib.loads(p.read_text())
    except OSError as e:
        raise RuleError(f"{p}: cannot read rules ({e.strerror})") from None
    except UnicodeDecodeError:
        raise RuleError(f"{p}: not a rules file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as e:
        raise RuleError(f"{p}: not valid TOML ({e})") from None
    specs = data.get("rule")
    if not isinstance(specs, list) or not specs:
        raise RuleError(f"{p}: expected one or more [[rule]] tables")
    rules: list[Rule] = []
    names: set[str] = set()
    for i, spec in enumerate(specs):
        where = f"{p.name}: rule[{i}]"
        if not isinstance(spec.get("name"), str):
            raise RuleError(f"{where}: missing string key 'name'")
        where = f"{p.name}: rule {spec['name']!r}"
        if spec["name"] in names:
            raise RuleError(f"{where}: duplicate rule name")
        names.add(spec["name"])
        kind = spec.get("kind")
        if kind not in KINDS:
            raise RuleError(f"{where}: kind {kind!r}, expected one of {sorted(KINDS)}")
        rules.append(KINDS[kind](spec, where, ctx))
    return rules


class _Rejudge(NamedTuple):
    """A record a tie put back (Checker._retie), to be judged at this point of the stream."""
    k: int
    record: Record
    rules: list[Rule]


def _items(held: Iterable) -> list[Item]:
    """The trace's items among held ones, without the _Rejudge marks."""
    return [x for x in held if type(x) is not _Rejudge]


@dataclass
class _Suspect:
    """A cross-CPU rule's violation at record #k, not yet final (Checker._hold)."""
    rule: Rule
    msg: str
    k: int
    record: Record
    rest: list[Rule]                 # rules after `rule` that have not seen the record
    waiting: set[int]                # CPUs whose next item decides
    rows: list[tuple[int, Item]]     # the history at the violation, for its window
    held: list[Item] = field(default_factory=list)


def _resets_state(loss: Loss) -> bool:
    """Whether rules must stop trusting their state.

    Damage no CPU can be named for (garbage, CRC, a cut-off first frame) is
    ignored: if it was a frame, its CPU's next frame reports the seq_gap, and
    that resets the right CPU.  Only a cut-off last frame has no successor
    to tell, so it resets every CPU."""
    if loss.kind in NOT_DATA_LOSS:
        return False
    return loss.cpu is not None or (loss.kind == "truncated" and loss.offset > 0)


class Checker:
    """The engine, fed one item at a time: feed() says when a rule broke, finish()
    judges the end and builds the result.  run_check() drives it over a whole trace;
    harness/judge/livecheck.py drives it while the machine runs, so a run stops at the
    first broken rule with the same verdict the final check gives."""

    def __init__(self, rules_path: str | Path | None = None, context: int = CONTEXT,
                 input_bytes: int | None = None, time_bounds: bool = True) -> None:
        if context < 0:
            raise ValueError(f"context must be >= 0, got {context}")
        self.input_bytes = input_bytes
        self.ctx = Context(time_bounds)
        self.rules = load_rules(rules_path, self.ctx)
        self.dispatch: dict[int, list[Rule]] = {}
        for r in self.rules:
            for t in r.types():
                self.dispatch.setdefault(t, []).append(r)
        self.context = context
        self.history: deque[tuple[int, Item]] = deque(maxlen=context + 1)
        self.counts: dict = {"items": 0, "records": 0, "loss": {}, "rules": {}, "unjudged": {},
                             "damaged_bytes": 0, "input_bytes": input_bytes}
        self.violation: tuple[Rule, str, int, str | None] | None = None
        self.damaged = 0    # stretches of damage no CPU could be named for, so far
        self.k = -1
        self.suspect: _Suspect | None = None  # a cross-CPU violation awaiting the other CPUs (_hold)
        self.pending_after: list[Item] = []   # items read past the violation while it was suspect
        self.inbox: deque = deque()           # items (and _Rejudge marks) still to take, in order

    def feed(self, item: Item) -> bool:
        """True when this item broke a rule (feed nothing more; call finish).

        Iterative, not recursive: settling a suspect puts the items it held back in
        front of the inbox, and a trace with thousands of losses settles thousands of
        suspects in a row (a lossy VMX test5 trace once overflowed Python's stack)."""
        inbox = self.inbox
        inbox.append(item)
        while inbox:
            it = inbox.popleft()
            if type(it) is _Rejudge:
                broke = self._rejudge(it)
            elif self.suspect is not None:
                broke = self._hold(it)
            else:
                broke = self._take(it)
            if broke:
                self.pending_after += _items(inbox)
                inbox.clear()
                return True
        return False

    def _take(self, item: Item) -> bool:
        self.k = k = self.k + 1
        self.history.append((k, item))
        if type(item) is Loss:
            loss = self.counts["loss"]
            loss[item.kind] = loss.get(item.kind, 0) + item.count
            if item.unit == "bytes" and item.kind in DAMAGE_KINDS and \
                    (self.input_bytes is None or item.offset < self.input_bytes):
                # Bytes of the input that did not decode (a tail known to be missing
                # past the end of the input is loss, not damage to what was read).
                self.counts["damaged_bytes"] += item.count
            if _resets_state(item):
                for r in self.rules:
                    r.on_loss(item.cpu)
            elif item.kind not in NOT_DATA_LOSS:
                self.damaged += 1
                for r in self.rules:
                    r.on_damage()
            return False
        rec: Record = item  # type: ignore[assignment]
        self.counts["records"] += 1
        ctx = self.ctx
        ctx.seen.add(rec.cpu)
        if rec.type == CPU_UP_ID:
            ctx.up.add(rec.cpu)
        elif rec.type == BOOT_ID:
            ctx.ncpus, ctx.tsc_khz = int(rec.args[0]), int(rec.args[1])
        interested = self.dispatch.get(rec.type)
        if not interested:
            return False
        return self._judge(k, rec, interested)

    def _judge(self, k: int, rec: Record, rules: list[Rule]) -> bool:
        env = env_of(rec)
        for i, r in enumerate(rules):
            msg = r.on_record(k, rec, env)
            if msg:
                if self.damaged:
                    msg += (f" [before this the trace had {self.damaged} damaged stretch(es) no CPU "
                            "could be named for: a frame lost in them may explain it]")
                waiting = self.ctx.others(rec.cpu) if r.cross_cpu else set()
                if waiting:
                    self.suspect = _Suspect(r, msg, k, rec, rules[i + 1:], waiting, list(self.history))
                    return False
                self.violation = (r, msg, k, EVENTS[rec.type].name)
                return True
        return False

    def _hold(self, item: Item) -> bool:
        """An item past a suspect violation.  A cross-CPU rule judged a record against
        the other CPUs' records merged before it; records another CPU lost around then
        are reported by its *next* item (a LOST record is written once its ring has
        room again; a seq_gap comes with the frame after the missing ones), which the
        merge puts after the suspect.  So the verdict waits for every other CPU's next
        item: a Record clears that CPU, a Loss explains the suspect (unjudged, and the
        held items are checked again from the loss on); damage no CPU can be named
        for explains it too.  (tests/decoder/test_check.py: the REQUEST lost on one
        CPU while another ACKs it, as test_zoo's quiesce-nmi saw once under load.)"""
        s = self.suspect
        assert s is not None
        s.held.append(item)
        if type(item) is Record and item.cpu != s.record.cpu and item.tsc == s.record.tsc:
            self._retie(s)
            return False
        if type(item) is Loss:
            # Any loss but a duplicate frame: missing records, or ones that arrived too
            # late for the merge to order them ("late").
            if item.kind != "duplicate" and (item.cpu is None or item.cpu in s.waiting):
                return self._explained(s, item)
        else:
            s.waiting.discard(item.cpu)
        if s.waiting and len(s.held) < HOLD_LIMIT:
            return False
        return self._confirm(s)

    def _confirm(self, s: "_Suspect") -> bool:
        self.suspect = None
        self.history = deque(s.rows, maxlen=self.context + 1)
        self.pending_after = _items(s.held)
        self.violation = (s.rule, s.msg, s.k, EVENTS[s.record.type].name)
        return True

    def _retie(self, s: "_Suspect") -> None:
        """Another CPU's record with the suspect's very TSC: the merge ordered the two by
        CPU number, not by what happened (a REQUEST and its ACK can read the same TSC:
        QEMU clamps a vCPU's TSC read to the last one any vCPU made, and the wire keeps
        64-cycle units).  So the suspect is judged again after the tied records, which
        are checked first (every held item so far has that TSC: the merge does not go
        back in time).  Test: tests/decoder/test_check.py, ..._with_the_same_tsc_..."""
        self.suspect = None
        self.counts["retied"] = self.counts.get("retied", 0) + 1  # evidence: verdicts a tie changed
        self._replay(s.held + [_Rejudge(s.k, s.record, [s.rule] + s.rest)])

    def _replay(self, held: list) -> None:
        """The items read while a suspect was pending, checked next, in order."""
        self.inbox.extendleft(reversed(held))

    def _rejudge(self, r: "_Rejudge") -> bool:
        """A record a tie put back.  Held like any item while a suspect is pending (a
        tied record that is itself suspect keeps it waiting until it is settled)."""
        if self.suspect is not None:
            self.suspect.held.append(r)  # type: ignore[arg-type]
            return False
        return self._judge(r.k, r.record, r.rules)

    def _explained(self, s: "_Suspect", loss: Loss) -> bool:
        self.suspect = None
        who = "an unattributed stretch of damage" if loss.cpu is None else f"cpu {loss.cpu} lost records"
        s.rule.unjudged.append(f"{s.msg} -- {who} around then (reported at #{s.k + len(_items(s.held))})")
        if s.rest and self._judge(s.k, s.record, s.rest):
            self.pending_after = _items(s.held)
            return True
        self._replay(s.held)
        return False

    def no_evidence(self) -> str | None:
        """Why the trace so far is too thin for a verdict, or None.  A pass needs
        records to rest on: none at all, or more damaged input than intact input,
        is no evidence (a capture of noise must not pass)."""
        c = self.counts
        if c["records"] == 0:
            what = f"{c['damaged_bytes']} damaged bytes, " if c["damaged_bytes"] else ""
            return f"no trace records to check ({what}{c['items']} items)"
        if self.input_bytes is not None:
            intact = self.input_bytes - c["damaged_bytes"]
            if c["damaged_bytes"] > intact:
                return (f"more damage than data: {c['damaged_bytes']} of {self.input_bytes} input bytes "
                        f"did not decode (crc/garbage/truncated), {c['records']} records")
        return None

    def finish(self, after: Iterable[Item] = (), at_end: bool = True) -> CheckResult:
        """The result; `after` supplies the items past a violation for its window.
        at_end=False skips the end-of-trace rules (the trace is not over)."""
        if self.suspect is not None:  # the trace ended before every CPU spoke again
            self._confirm(self.suspect)
        counts = self.counts
        counts["items"] = self.k + 1
        violation = self.violation
        if violation is None and at_end:
            why = self.no_evidence()
            if why is not None:
                counts["rules"] = {r.name: r.evaluations for r in self.rules}
                return CheckResult(False, None, why, "", counts, error=why)
        if violation is None and at_end:
            for r in self.rules:
                msg = r.at_end()
                if msg:
                    violation = (r, msg, self.k, None)
                    break
        for r in self.rules:
            counts["rules"][r.name] = r.evaluations
            m = r.measured()
            if m is not None:
                counts.setdefault("measured", {})[r.name] = m
            if r.unjudged:
                counts["unjudged"][r.name] = r.unjudged[:20]
        if violation is None:
            msg = "pass"
            if counts["unjudged"]:
                msg += f" (unjudged after loss: {', '.join(counts['unjudged'])})"
            return CheckResult(True, None, msg, "", counts)
        rule, msg, vk, event = violation
        rows = list(self.history)
        for extra, item in enumerate(chain(self.pending_after, after), start=vk + 1):
            rows.append((extra, item))
            if extra >= vk + self.context:
                break
        return CheckResult(False, rule.name, msg, markdown_table(rows, self.ctx.ncpus, mark=vk), counts, vk,
                           event)


def run_check(items: Iterable[Item], rules_path: str | Path | None = None, context: int = CONTEXT,
              input_bytes: int | None = None, time_bounds: bool = True) -> CheckResult:
    """Check a whole trace.  input_bytes (the capture's size) lets the evidence rule
    compare damaged bytes with intact ones; without it only records are counted."""
    checker = Checker(rules_path, context, input_bytes, time_bounds)
    it = iter(items)
    feed = checker.feed
    for item in it:
        if feed(item):
            break
    return checker.finish(it)
