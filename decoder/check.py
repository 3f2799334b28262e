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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from decoder.defs import EVENT_IDS
from decoder.expr import RuleError
from decoder.records import Item, Loss, Record
from decoder.rule_kinds import KINDS, Context, Rule, env_of
from decoder.views.stats import NOT_DATA_LOSS
from decoder.views.table import markdown_table

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
CONTEXT = 8
CPU_UP_ID, BOOT_ID = EVENT_IDS["CPU_UP"], EVENT_IDS["BOOT"]


@dataclass
class CheckResult:
    passed: bool
    rule: str | None
    message: str
    window: str
    counts: dict = field(default_factory=dict)
    index: int | None = None


def load_rules(path: str | Path | None, ctx: Context) -> list[Rule]:
    p = Path(path) if path else DEFAULT_RULES
    try:
        data = tomllib.loads(p.read_text())
    except OSError as e:
        raise RuleError(f"{p}: cannot read rules ({e.strerror})") from None
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


def _resets_state(loss: Loss) -> bool:
    """Whether rules must stop trusting their state.

    Damage no CPU can be named for (garbage, CRC, a cut-off first frame) is
    ignored: if it was a frame, its CPU's next frame reports the seq_gap, and
    that resets the right CPU.  Only a cut-off last frame has no successor
    to tell, so it resets every CPU."""
    if loss.kind in NOT_DATA_LOSS:
        return False
    return loss.cpu is not None or (loss.kind == "truncated" and loss.offset > 0)


def run_check(items: Iterable[Item], rules_path: str | Path | None = None, context: int = CONTEXT) -> CheckResult:
    ctx = Context()
    rules = load_rules(rules_path, ctx)
    dispatch: dict[int, list[Rule]] = {}
    for r in rules:
        for t in r.types():
            dispatch.setdefault(t, []).append(r)
    history: deque[tuple[int, Item]] = deque(maxlen=context + 1)
    counts: dict = {"items": 0, "records": 0, "loss": {}, "rules": {}, "unjudged": {}}
    loss = counts["loss"]
    it = iter(items)
    violation: tuple[Rule, str, int] | None = None
    k = -1
    for k, item in enumerate(it):
        history.append((k, item))
        if type(item) is Loss:
            loss[item.kind] = loss.get(item.kind, 0) + item.count
            if _resets_state(item):
                for r in rules:
                    r.on_loss(item.cpu)
            continue
        rec: Record = item  # type: ignore[assignment]
        counts["records"] += 1
        ctx.seen.add(rec.cpu)
        if rec.type == CPU_UP_ID:
            ctx.up.add(rec.cpu)
        elif rec.type == BOOT_ID:
            ctx.ncpus = int(rec.args[0])
        interested = dispatch.get(rec.type)
        if not interested:
            continue
        env = env_of(rec)
        for r in interested:
            msg = r.on_record(k, rec, env)
            if msg:
                violation = (r, msg, k)
                break
        if violation:
            break
    counts["items"] = k + 1
    if violation is None:
        for r in rules:
            msg = r.at_end()
            if msg:
                violation = (r, msg, k)
                break
    for r in rules:
        counts["rules"][r.name] = r.evaluations
        if r.unjudged:
            counts["unjudged"][r.name] = r.unjudged[:20]
    if violation is None:
        msg = "pass"
        if counts["unjudged"]:
            msg += f" (unjudged after loss: {', '.join(counts['unjudged'])})"
        return CheckResult(True, None, msg, "", counts)
    rule, msg, vk = violation
    rows = list(history)
    for extra, item in enumerate(it, start=vk + 1):
        rows.append((extra, item))
        if extra >= vk + context:
            break
    return CheckResult(False, rule.name, msg, markdown_table(rows, ctx.ncpus, mark=vk), counts, vk)
