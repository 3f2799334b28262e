"""The html view renders in headless Chromium: checked by the screenshot's pixels."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from decoder.api import read_records, render
from tests.support.synth import TraceBuilder, concat_frames
from decoder.views import html as hv
from tests.decoder.png import read_png

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
W, H = 1200, 400


def _at(b: TraceBuilder, cpu: int, name: str, tsc: int, *args: object) -> None:
    b.ev(cpu, name, *args, dt=tsc - b.now)


def _trace() -> bytes:
    b = TraceBuilder(2, boot=False, now=0)
    _at(b, 0, "CPU_UP", 1000, 0, 0)
    _at(b, 1, "CPU_UP", 1050, 1, 1)
    _at(b, 0, "INTERCEPT_ENTER", 1100, 0x81, 0x2000100)
    _at(b, 1, "QUIESCE_ACK", 1200, 1)
    _at(b, 0, "INTERCEPT_LEAVE", 1500, 0x81)
    _at(b, 0, "HOST_NMI", 1700, 2, 0, 0)
    _at(b, 1, "QUIESCE_RESUME", 1800, 1)
    _at(b, 1, "HYPERCALL", 1850, 1, 0, 0)
    _at(b, 1, "HYPERCALL", 1900, 1, 0, 0)  # its frame is dropped below: a loss gap
    _at(b, 1, "HYPERCALL", 1950, 1, 0, 0)
    _at(b, 0, "CPU_UP", 2000, 0, 0)
    frames = b.frames(per_frame=1)  # one record per frame, so frame order = record order
    by_tsc = [f for _, f in sorted(zip([r.tsc for c in sorted(b.per_cpu) for r in b.per_cpu[c]], frames))]
    dropped = [f for cpu, f in frames if cpu == 1][4]
    return concat_frames(f for _, f in by_tsc if f is not dropped)


def _screenshot(tmp_path: Path, page: Path) -> Path:
    png = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={png}", f"--window-size={W},{H}", page.as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert png.exists(), f"chromium wrote no screenshot (rc {r.returncode}): {r.stderr[-2000:]}"
    return png


def _rgb(hexcolour: str) -> tuple[int, int, int]:
    return tuple(int(hexcolour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 24) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    assert Path(CHROMIUM).exists(), "chromium missing: make deps installs it"
    tmp = tmp_path_factory.mktemp("html")
    page = tmp / "trace.html"
    with open(page, "w") as f:
        render("html", read_records(_trace()), f, width=W)
    return read_png(_screenshot(tmp, page).read_bytes())


def test_screenshot_has_expected_size(shot) -> None:  # type: ignore[no-untyped-def]
    assert (shot.width, shot.height) == (W, H)


def test_lanes_spans_markers_and_loss_are_where_the_geometry_says(shot) -> None:  # type: ignore[no-untyped-def]
    g = hv.Geometry(width=W)
    x = lambda t: int(g.x(t, 1000, 2000))  # noqa: E731
    y0a, y0b = g.span_band(0)
    # CPU 0: intercept 1100..1500 in the span band; lane background before it.
    assert _close(shot.pixel(x(1300), (y0a + y0b) // 2), _rgb(hv.INTERCEPT))
    assert _close(shot.pixel(x(1050), (y0a + y0b) // 2), _rgb(hv.LANE_BG))
    assert _close(shot.pixel(x(1600), (y0a + y0b) // 2), _rgb(hv.LANE_BG))
    # CPU 1: quiesce ACK..RESUME 1200..1800 in its quiesce band.
    q1a, q1b = g.quiesce_band(1)
    assert _close(shot.pixel(x(1500), (q1a + q1b) // 2), _rgb(hv.QUIESCE))
    assert not _close(shot.pixel(x(1500), (q1a + q1b) // 2 - 30), _rgb(hv.QUIESCE))
    # Host NMI marker on CPU 0 at 1700, below the span band.
    assert _close(shot.pixel(x(1700), y0b + 10), _rgb(hv.HOST_NMI))
    # Loss gap on CPU 1 between 1850 and 1950: the yellow/black hatch.
    ya = g.lane_top(1)
    region = [shot.pixel(px, py) for px in range(x(1860), x(1940), 2) for py in range(ya + 4, ya + g.lane_h - 4, 3)]
    assert sum(_close(p, _rgb(hv.LOSS_A), 40) for p in region) > len(region) // 5
    assert sum(_close(p, _rgb(hv.LOSS_B), 40) for p in region) > len(region) // 5
    # Nothing drawn between the lanes.
    assert _close(shot.pixel(x(1300), g.lane_top(1) - g.gap // 2), (255, 255, 255))
