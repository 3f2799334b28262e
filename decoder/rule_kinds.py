"""The checker's rule kinds: one class per kind, a rule is an instance built
from its rules.toml table (see the comment at the top of decoder/rules.toml).

Each rule says which event ids it wants; its hooks return a violation message
or None.  State is per CPU or per open epoch, so memory does not grow with
the trace.
"""
from __future__ import annotations

from dataclasses import dataclass

from decoder.defs import EVENT_IDS, EVENTS
from decoder.expr import Expr, RuleError
from decoder.records import Record, describe


class Context:
    """What every rule may ask: which CPUs exist, the TSC rate (BOOT's tsc_khz, 0 unknown),
    and whether time bounds hold.  They do when the TSC is virtual time (QEMU's icount:
    deterministic and record/replay runs).  In a host-timed run the TSC follows the host,
    whose scheduler can stop a vCPU thread for any time (4 vCPU threads on 2 loaded cores
    stretched a correct quiesce to 2015 ms): a bound there measures the host's load."""

    def __init__(self, time_bounds: bool = True) -> None:
        self.up: set[int] = set()
        self.seen: set[int] = set()
        self.ncpus = 0
        self.tsc_khz = 0
        self.time_bounds = time_bounds

    def others(self, owner: int) -> set[int]:
        # A frame's CPU is one byte: past 256, one CPU that never speaks stands for the
        # rest (as merge.Merger.expect_cpus), so a BOOT record claiming 2^64 CPUs does
        # not fill memory (tests/support/cwire_diff.py's generated BOOT records found it).
        base = self.up or (set(range(min(self.ncpus, 257))) if self.ncpus else self.seen)
        return base - {owner}


_FIELD_NAMES = {ev.id: tuple(f for f, _ in ev.fields) for ev in EVENTS.values()}


def env_of(rec: Record) -> dict[str, object]:
    env: dict[str, object] = dict(zip(_FIELD_NAMES[rec.type], rec.args))
    env["cpu"], env["tsc"] = rec.cpu, rec.tsc
    return env


class Selector:
    def __init__(self, spec: object, where: str) -> None:
        if not isinstance(spec, dict) or "event" not in spec:
            raise RuleError(f"{where}: expected a table {{event = NAME, where = \"...\"}}, got {spec!r}")
        name = spec["event"]
        if name not in EVENT_IDS:
            raise RuleError(f"{where}: unknown event {name!r}; known: {sorted(EVENT_IDS)}")
        extra = set(spec) - {"event", "where"}
        if extra:
            raise RuleError(f"{where}: unknown keys {sorted(extra)} (expected event, where)")
        self.name = name
        self.type = EVENT_IDS[name]
        fields = [f for f, _ in EVENTS[self.type].fields]
        self.fields = fields
        self.where = Expr(str(spec["where"]), fields + ["cpu", "tsc"], f"{where}.where") if "where" in spec else None

    def matches(self, rec: Record, env: dict[str, object] | None) -> bool:
        if rec.type != self.type:
            return False
        return self.where is None or bool(self.where(env if env is not None else env_of(rec)))

    def __str__(self) -> str:
        return self.name + (f" where {self.where}" if self.where else "")


class Rule:
    """Base of the rule kinds: event ids it wants, hooks returning a violation message or None."""
    kind = ""
    keys: set[str] = set()
    # Judges a record against other CPUs' records: a loss on another CPU reported
    # after the record in merged order may explain its violation (check.Checker._hold).
    cross_cpu = False

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        self.name = spec["name"]
        self.doc = spec.get("doc", "")
        self.where = where
        self.ctx = ctx
        self.evaluations = 0
        self.unjudged: list[str] = []
        unknown = set(spec) - self.keys - {"name", "kind", "doc"}
        if unknown:
            raise RuleError(f"{where}: unknown keys {sorted(unknown)} for kind {self.kind!r}; "
                            f"expected {sorted(self.keys)}")

    def need(self, spec: dict, key: str) -> object:
        if key not in spec:
            raise RuleError(f"{self.where}: missing key {key!r} (kind {self.kind!r})")
        return spec[key]

    def types(self) -> set[int]:
        raise NotImplementedError

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        raise NotImplementedError

    def on_loss(self, cpu: int | None) -> None:
        pass

    def on_damage(self) -> None:
        """Bytes were damaged that no CPU can be named for (garbage, a bad CRC).  If
        they held a frame, that CPU's next frame reports the gap -- but records of
        the other CPUs merged in before it may already be judged against state the
        lost frame would have changed (the checker's docs/decoder.md, "Loss")."""

    def at_end(self) -> str | None:
        return None

    def measured(self) -> dict | None:
        """What the rule measured over the trace, for the verdict's evidence (None: nothing)."""
        return None


class Forbid(Rule):
    kind = "forbid"
    keys = {"event"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        self.sel = Selector(self.need(spec, "event"), f"{where}.event")

    def types(self) -> set[int]:
        return {self.sel.type}

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        self.evaluations += 1
        if self.sel.matches(rec, env):
            return f"cpu {rec.cpu}: forbidden {describe(rec)} at #{k}"
        return None


class Assert(Rule):
    kind = "assert"
    keys = {"on", "expect"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        self.sel = Selector(self.need(spec, "on"), f"{where}.on")
        self.expect = Expr(str(self.need(spec, "expect")), self.sel.fields + ["cpu", "tsc"], f"{where}.expect")

    def types(self) -> set[int]:
        return {self.sel.type}

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        if not self.sel.matches(rec, env):
            return None
        self.evaluations += 1
        if self.expect(env):
            return None
        shown = ", ".join(f"{n}={env[n]:#x}" if isinstance(env[n], int) and env[n] > 0xFFFF else f"{n}={env[n]}"
                          for n in sorted(self.expect.names) if n in env)
        sides = self.expect.explain(env)
        return (f"cpu {rec.cpu}: {describe(rec)} at #{k}: expected {self.expect} ({shown}"
                + (f"; {sides})" if sides else ")"))


_UNKNOWN = "unknown"


class Pair(Rule):
    kind = "pair"
    keys = {"open", "close", "forgive", "same", "at_end"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        self.open = Selector(self.need(spec, "open"), f"{where}.open")
        self.close = Selector(self.need(spec, "close"), f"{where}.close")
        self.forgive = [Selector(s, f"{where}.forgive[{i}]") for i, s in enumerate(spec.get("forgive", []))]
        self.same = list(spec.get("same", []))
        for f in self.same:
            if f not in self.open.fields or f not in self.close.fields:
                raise RuleError(f"{where}.same: field {f!r} is not in both {self.open.name} and {self.close.name}")
        self.same_at = [(self.open.fields.index(f), self.close.fields.index(f)) for f in self.same]
        self.at_end_mode = spec.get("at_end", "ignore")
        if self.at_end_mode not in ("ignore", "violation"):
            raise RuleError(f"{where}.at_end: expected 'ignore' or 'violation', got {self.at_end_mode!r}")
        self.state: dict[int, object] = {}

    def types(self) -> set[int]:
        return {self.open.type, self.close.type} | {s.type for s in self.forgive}

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        cpu = rec.cpu
        st = self.state.get(cpu)
        if self.open.matches(rec, env):
            self.evaluations += 1
            self.state[cpu] = (k, rec)
            if isinstance(st, tuple):
                return (f"cpu {cpu}: {describe(st[1])} at #{st[0]} has no {self.close} before the next "
                        f"{self.open} at #{k}")
            return None
        if self.close.matches(rec, env):
            self.evaluations += 1
            self.state[cpu] = None
            if st is None:
                return f"cpu {cpu}: {describe(rec)} at #{k} without a preceding {self.open}"
            if isinstance(st, tuple) and self.same:
                k0, r0 = st
                diff = [f for f, (i, j) in zip(self.same, self.same_at) if r0.args[i] != rec.args[j]]
                if diff:
                    return (f"cpu {cpu}: {describe(rec)} at #{k} closes {describe(r0)} at #{k0} "
                            f"but {', '.join(diff)} differ")
            return None
        if any(s.matches(rec, env) for s in self.forgive) and isinstance(st, tuple):
            self.state[cpu] = _UNKNOWN
        return None

    def on_loss(self, cpu: int | None) -> None:
        for c in ([cpu] if cpu is not None else list(self.state) + list(self.ctx.seen)):
            self.state[c] = _UNKNOWN

    def at_end(self) -> str | None:
        if self.at_end_mode == "violation":
            for cpu, st in sorted(self.state.items()):
                if isinstance(st, tuple):
                    return f"cpu {cpu}: {describe(st[1])} at #{st[0]} never closed by {self.close}"
        return None


@dataclass
class _Epoch:
    key: int
    owner: int
    participants: set[int]
    k_open: int
    done: list[dict[int, tuple[int, int]]]  # per step: cpu -> (index, tsc)
    lossy: bool = False


class Epoch(Rule):
    kind = "epoch"
    cross_cpu = True
    keys = {"key", "steps", "quiet", "skew", "within_ms"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        self.key = str(self.need(spec, "key"))
        steps = self.need(spec, "steps")
        if not isinstance(steps, list) or len(steps) < 2:
            raise RuleError(f"{where}.steps: expected a list of at least 2 steps")
        self.steps: list[tuple[Selector, str]] = []
        for i, s in enumerate(steps):
            if not isinstance(s, dict) or s.get("by") not in ("owner", "others"):
                raise RuleError(f"{where}.steps[{i}]: expected {{event = NAME, by = \"owner\"|\"others\"}}")
            sel = Selector({"event": s["event"]}, f"{where}.steps[{i}]")
            if self.key not in sel.fields:
                raise RuleError(f"{where}.steps[{i}]: event {sel.name} has no key field {self.key!r}")
            self.steps.append((sel, s["by"]))
        if self.steps[0][1] != "owner":
            raise RuleError(f"{where}.steps[0]: the first step opens the epoch and must be by = \"owner\"")
        self.step_of = {sel.type: i for i, (sel, _) in enumerate(self.steps)}
        if len(self.step_of) != len(self.steps):
            raise RuleError(f"{where}.steps: each step needs its own event")
        self.quiet: list[tuple[Selector, int, int]] = []
        for i, q in enumerate(spec.get("quiet", [])):
            names = {sel.name: j for j, (sel, _) in enumerate(self.steps)}
            if not isinstance(q, dict) or q.get("from") not in names or q.get("until") not in names:
                raise RuleError(f"{where}.quiet[{i}]: expected {{event, from, until}} with from/until among "
                                f"the steps {sorted(names)}")
            self.quiet.append((Selector({"event": q["event"]}, f"{where}.quiet[{i}]"), names[q["from"]],
                               names[q["until"]]))
        self.skew = int(spec.get("skew", 0))
        within = spec.get("within_ms")
        if within is not None and (isinstance(within, bool) or not isinstance(within, (int, float))
                                   or not 0 < within < float("inf")):
            raise RuleError(f"{where}.within_ms: expected a positive finite number of milliseconds, got {within!r}")
        self.within_ms: float | None = within
        self.longest: tuple[int, int, int] | None = None   # (ticks, epoch, index of its first step)
        self.rate_missing = False
        self.open_epochs: dict[int, _Epoch] = {}
        self.quiet_on: dict[int, list[tuple[int, int, int]]] = {}  # cpu -> [(quiet index, epoch, k)]
        self.had_loss = False
        self.damaged = False    # unattributed damage seen: completeness is unknowable

    def types(self) -> set[int]:
        return set(self.step_of) | {q[0].type for q in self.quiet}

    def _step_name(self, i: int) -> str:
        return self.steps[i][0].name

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        cpu = rec.cpu
        for qi, e, k0 in self.quiet_on.get(cpu, []):
            if self.quiet[qi][0].matches(rec, env):
                _, f, u = self.quiet[qi]
                return (f"cpu {cpu}: {describe(rec)} at #{k} between its {self._step_name(f)} (#{k0}) and "
                        f"{self._step_name(u)} of epoch {e}")
        step = self.step_of.get(rec.type)
        if step is None:
            return None
        self.evaluations += 1
        key = int(env[self.key])  # type: ignore[arg-type]
        for qi, (_, f, u) in enumerate(self.quiet):
            if f == step:
                self.quiet_on.setdefault(cpu, []).append((qi, key, k))
            if u == step:
                self.quiet_on[cpu] = [q for q in self.quiet_on.get(cpu, []) if not (q[0] == qi and q[1] == key)]
        if step == 0:
            if key in self.open_epochs:
                return f"cpu {cpu}: {describe(rec)} at #{k}: epoch {key} was already requested at #{self.open_epochs[key].k_open}"
            for other in self.open_epochs.values():
                if self.damaged:
                    self.unjudged.append(f"epoch {other.key} (unfinished at the next request, after damage)")
                elif not other.lossy:
                    return (f"cpu {cpu}: {describe(rec)} at #{k} while epoch {other.key} (requested at "
                            f"#{other.k_open}) is unfinished: {self._missing(other)}")
            self.open_epochs = {}
            ep = _Epoch(key, cpu, self.ctx.others(cpu), k, [dict() for _ in self.steps])
            ep.done[0][cpu] = (k, rec.tsc)
            self.open_epochs[key] = ep
            return None
        ep = self.open_epochs.get(key)
        if ep is None:
            if self.had_loss:
                self.unjudged.append(f"epoch {key} (request not in the trace after loss)")
                return None
            return f"cpu {cpu}: {describe(rec)} at #{k} for epoch {key}, which was never requested (or already over)"
        by = self.steps[step][1]
        if by == "owner" and cpu != ep.owner:
            return f"cpu {cpu}: {describe(rec)} at #{k}, but epoch {key} belongs to cpu {ep.owner}"
        if by == "others" and cpu == ep.owner:
            return f"cpu {cpu}: {describe(rec)} at #{k} by the epoch's own requester"
        if cpu in ep.done[step]:
            return f"cpu {cpu}: {describe(rec)} at #{k} twice in epoch {key} (first at #{ep.done[step][cpu][0]})"
        if by == "owner":
            for j in range(step):
                if self.steps[j][1] == "owner" and ep.owner not in ep.done[j]:
                    return f"cpu {cpu}: {describe(rec)} at #{k} before its {self._step_name(j)} of epoch {key}"
        ep.done[step][cpu] = (k, rec.tsc)
        late = self._late(ep, k, rec)
        if late:
            return late
        if self._complete(ep):
            del self.open_epochs[key]
            return self._order(ep)
        return None

    def _late(self, ep: _Epoch, k: int, rec: Record) -> str | None:
        """within_ms: every step of an epoch comes at most that long after its first, in
        the TSC time of BOOT's tsc_khz.  Without that rate nothing can be judged, and
        the epoch is reported unjudged rather than passed."""
        if self.within_ms is None:
            return None
        ticks = rec.tsc - ep.done[0][ep.owner][1]
        if self.longest is None or ticks > self.longest[0]:
            self.longest = (ticks, ep.key, ep.k_open)
        if not self.ctx.time_bounds:
            return None
        khz = self.ctx.tsc_khz
        if not khz:
            if not self.rate_missing:
                self.rate_missing = True
                self.unjudged.append(f"within_ms from epoch {ep.key} on (no BOOT record with the TSC rate)")
            return None
        if ticks > self.within_ms * khz:
            return (f"epoch {ep.key}: {describe(rec)} of cpu {rec.cpu} at #{k} came {ticks / khz:.1f} ms after "
                    f"its {self._step_name(0)} (#{ep.k_open}); the bound is {self.within_ms:g} ms")
        return None

    def measured(self) -> dict | None:
        if self.longest is None:
            return None
        ticks, key, k_open = self.longest
        khz = self.ctx.tsc_khz
        return {"longest_epoch": key, "requested_at": k_open, "ticks": ticks,
                "ms": round(ticks / khz, 3) if khz else None, "bound_ms": self.within_ms,
                "bound_applied": self.ctx.time_bounds}

    def _expected(self, ep: _Epoch, step: int) -> set[int]:
        return {ep.owner} if self.steps[step][1] == "owner" else ep.participants

    def _complete(self, ep: _Epoch) -> bool:
        return all(self._expected(ep, i) <= set(ep.done[i]) for i in range(len(self.steps)))

    def _missing(self, ep: _Epoch) -> str:
        for i in range(len(self.steps)):
            missing = sorted(self._expected(ep, i) - set(ep.done[i]))
            if missing:
                return f"{self._step_name(i)} missing from cpu {', '.join(map(str, missing))}"
        return "complete"

    def _order(self, ep: _Epoch) -> str | None:
        for i in range(1, len(self.steps)):
            if not ep.done[i - 1] or not ep.done[i]:
                continue  # a step nobody had to take (no other CPU was up yet): nothing to order
            prev_cpu, (pk, ptsc) = max(ep.done[i - 1].items(), key=lambda kv: kv[1][1])
            cur_cpu, (ck, ctsc) = min(ep.done[i].items(), key=lambda kv: kv[1][1])
            if ctsc + self.skew < ptsc:
                return (f"epoch {ep.key}: {self._step_name(i)} of cpu {cur_cpu} (#{ck}) precedes "
                        f"{self._step_name(i - 1)} of cpu {prev_cpu} (#{pk}) by {ptsc - ctsc} TSC ticks "
                        f"(tolerance {self.skew})")
        return None

    def on_damage(self) -> None:
        # Any CPU's steps may be in the damage, and a frame spans many records, so
        # epochs opened after it in merged order may miss steps too: from here on
        # "never requested" and "unfinished" are unjudged, not violations.
        self.on_loss(None)
        self.damaged = True

    def on_loss(self, cpu: int | None) -> None:
        self.had_loss = True
        for ep in self.open_epochs.values():
            if cpu is None or cpu == ep.owner or cpu in ep.participants:
                ep.lossy = True
        if cpu is None:
            self.quiet_on.clear()
        else:
            self.quiet_on.pop(cpu, None)

    def at_end(self) -> str | None:
        for ep in self.open_epochs.values():
            if ep.lossy or self.damaged:
                self.unjudged.append(f"epoch {ep.key} (loss during it)")
                continue
            return f"epoch {ep.key} (requested by cpu {ep.owner} at #{ep.k_open}) never finished: {self._missing(ep)}"
        return None


class Tally(Rule):
    kind = "tally"
    keys = {"count", "at", "expect"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        counts = self.need(spec, "count")
        if not isinstance(counts, dict) or not counts:
            raise RuleError(f"{where}.count: expected count.<name> = selector entries")
        self.counters = {n: Selector(s, f"{where}.count.{n}") for n, s in counts.items()}
        at = self.need(spec, "at")
        self.at = None if at == "end" else Selector(at, f"{where}.at")
        names = list(self.counters) + (self.at.fields + ["cpu", "tsc"] if self.at else ["cpu"])
        self.expect = Expr(str(self.need(spec, "expect")), names, f"{where}.expect")
        self.values: dict[int, dict[str, int]] = {}
        self.lossy: set[int] = set()

    def types(self) -> set[int]:
        return {s.type for s in self.counters.values()} | ({self.at.type} if self.at else set())

    def _vals(self, cpu: int) -> dict[str, int]:
        v = self.values.get(cpu)
        if v is None:
            v = self.values[cpu] = {n: 0 for n in self.counters}
        return v

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        vals = self._vals(rec.cpu)
        for n, sel in self.counters.items():
            if sel.matches(rec, env):
                vals[n] += 1
        if self.at is not None and self.at.matches(rec, env):
            if rec.cpu in self.lossy:
                self.unjudged.append(f"cpu {rec.cpu} at #{k} (loss before it)")
                return None
            self.evaluations += 1
            scope = {**env, **vals}
            if not self.expect(scope):
                return (f"cpu {rec.cpu}: {describe(rec)} at #{k}: expected {self.expect} "
                        f"({self._show(vals)}; {self.expect.explain(scope)})")
        return None

    def _show(self, vals: dict[str, int]) -> str:
        return ", ".join(f"{n}={v}" for n, v in vals.items())

    def on_loss(self, cpu: int | None) -> None:
        self.lossy |= set(self.ctx.seen) if cpu is None else {cpu}

    def at_end(self) -> str | None:
        if self.at is not None:
            return None
        for cpu in sorted(self.values):
            if cpu in self.lossy:
                self.unjudged.append(f"cpu {cpu} (loss)")
                continue
            self.evaluations += 1
            vals = self.values[cpu]
            scope = {**vals, "cpu": cpu}
            if not self.expect(scope):
                return f"cpu {cpu} at end of trace: expected {self.expect} ({self._show(vals)})"
        return None


class Require(Rule):
    kind = "require"
    keys = {"if_seen", "then"}

    def __init__(self, spec: dict, where: str, ctx: Context) -> None:
        super().__init__(spec, where, ctx)
        self.if_seen = Selector(self.need(spec, "if_seen"), f"{where}.if_seen")
        self.then = Selector(self.need(spec, "then"), f"{where}.then")
        self.owed: dict[int, int] = {}
        self.lossy: set[int] = set()

    def types(self) -> set[int]:
        return {self.if_seen.type, self.then.type}

    def on_record(self, k: int, rec: Record, env: dict[str, object]) -> str | None:
        if self.if_seen.matches(rec, env):
            self.owed.setdefault(rec.cpu, k)
        if self.then.matches(rec, env):
            self.evaluations += 1
            self.owed.pop(rec.cpu, None)
        return None

    def on_loss(self, cpu: int | None) -> None:
        self.lossy |= set(self.ctx.seen) if cpu is None else {cpu}

    def at_end(self) -> str | None:
        for cpu, k in sorted(self.owed.items()):
            if cpu in self.lossy:
                self.unjudged.append(f"cpu {cpu} (loss)")
                continue
            return f"cpu {cpu}: {self.if_seen} at #{k} but no {self.then} by the end of the trace"
        return None


KINDS: dict[str, type[Rule]] = {c.kind: c for c in (Forbid, Assert, Pair, Epoch, Tally, Require)}
