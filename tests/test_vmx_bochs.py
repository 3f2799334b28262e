"""make test's one VMX boot: the VMX hypervisor (build/vmx/) under Bochs at -smp 2, the
64-bit guest's `test` workload on both CPUs with seeded in-machine NMIs (nmi_every), so
hypercalls (VMMCALL taken as #UD), the EPT, VPID and the virtual-NMI injection path
(NMI-window exiting) all run, the trace leaving by port 0xE9 as on the bochs platform
(trace=e9, split out of Bochs' stdout).  The rest of the VMX boots: tests/bochs/
(make test-vmx)."""
from __future__ import annotations

from pathlib import Path

from decoder.defs import EVENT_IDS, FIELD_NAMES
from tests.boot_util import PASS
from tests.bochs_util import boot_bochs

WORKLOAD = 300
FLAGS = FIELD_NAMES[("OPTIONS", "flags")][1]


def test_vmx_smoke_every_cpu_passes_at_smp2_with_nmis(tmp_path: Path) -> None:
    b = boot_bochs(tmp_path, 2, 64, f"wl=test:{WORKLOAD} seed=7 nmi_every=40")
    assert b.status == PASS, b.serial[-2000:]
    assert sorted(b.cpus) == [0, 1], b.serial[-2000:]
    for cpu, r in b.cpus.items():
        assert r.passed and r.status == 0 and r.count == WORKLOAD, (cpu, r)
        assert r.received == r.injected and r.nested == 0, (cpu, r)
        assert r.host_nmis == r.injected + r.merged + r.quiesce + r.pending, (cpu, r)
    assert sum(r.injected for r in b.cpus.values()) > 0, "no NMI reached a guest: the vNMI path did not run"
    assert not b.losses, b.losses[:3]
    assert b.events("OPTIONS")[0].args[2] & FLAGS["trace_e9"], "the trace did not go to port 0xE9"
    # Every hypercall came through the VMX exit table: the trace's exit reasons are VMX's.
    reasons = {r.args[0] for r in b.records if r.type == EVENT_IDS["INTERCEPT_ENTER"]}
    assert reasons and reasons <= {0, 8, 10, 18, 48}, reasons   # exception/NMI, NMI window, CPUID, VMCALL, EPT
