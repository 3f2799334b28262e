"""html --dir: the levels-of-detail timeline, checked in headless Chromium.

The page reports what it drew in #status's data attributes (level, lanes, records
drawn and their first/last index, per-CPU counts, loss marks); the tests compare
that with what the decoder's own filter says the same window holds."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.api import read_records
from bench.bench_decoder import generate
from tests.support.chromium import CHROMIUM, dump_dom, element_data, page_url
from decoder.records import Loss, Record
from decoder.views import timeline_dir
from decoder.window import Window, Windowed
from tests.decoder.traces import good_run

ROOT = Path(__file__).resolve().parents[2]
NRECORDS = 100_000     # five chunks: the first screen is the overview, not the records


def _html_dir(capture: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "decoder", "html", str(capture), "--dir", str(out), *extra],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    assert Path(CHROMIUM).exists(), "chromium missing: make deps installs it"
    tmp = tmp_path_factory.mktemp("timeline")
    capture = tmp / "serial.bin"
    generate(capture, NRECORDS)
    r = _html_dir(capture, tmp / "site")
    assert r.returncode == 0, r.stderr
    return capture, tmp / "site"


def _status(site: Path, fragment: str = "") -> dict[str, str]:
    st = element_data(dump_dom(page_url(site / "index.html", fragment)), "status")
    assert st["ready"] == "1", st
    return st


def _records_in(capture: Path, t_from: float, t_to: float, cpus: set[int] | None = None) -> list[tuple[int, Record]]:
    w = Window(t_from=t_from, t_to=t_to, cpus=frozenset(cpus) if cpus else None)
    return [(k, it) for k, it in Windowed(read_records(str(capture)), w).numbered() if type(it) is Record]


def _edges_clear(capture: Path, t_from: float, t_to: float) -> None:
    """No record sits exactly on an edge, where a float in the page and the decoder's
    rounding to 1 ns could disagree about one record."""
    for t in (t_from, t_to):
        assert not _records_in(capture, t, t), f"a record at {t}: pick another edge"


def test_first_screen_is_every_cpu_over_the_whole_trace(big: tuple[Path, Path]) -> None:
    capture, site = big
    st = _status(site)
    items = sum(1 for _ in read_records(str(capture)))
    assert st["level"] == "overview" and st["lanes"] == "0,1,2,3"
    assert int(st["total"]) == items
    dom = dump_dom(page_url(site / "index.html"))
    assert re.findall(r'class="lane" data-cpu="(\d+)"[^>]*>CPU \d+<', dom) == ["0", "1", "2", "3"]
    assert "chunks/c" not in dom, "the first screen loaded records"


def test_a_narrow_window_loads_exactly_its_records(big: tuple[Path, Path]) -> None:
    capture, site = big
    t_from, t_to = 0.050000001, 0.052000001
    _edges_clear(capture, t_from, t_to)
    st = _status(site, f"from={t_from}&to={t_to}")
    want = _records_in(capture, t_from, t_to)
    assert st["level"] == "records"
    assert int(st["drawn"]) == len(want) > 100
    assert (int(st["first"]), int(st["last"])) == (want[0][0], want[-1][0])
    per_cpu = {int(c): int(n) for c, n in (p.split(":") for p in st["perCpu"].split())}
    assert per_cpu == {c: sum(1 for _, r in want if r.cpu == c) for c in range(4)}


def test_a_wide_window_of_many_records_draws_chunk_densities(big: tuple[Path, Path]) -> None:
    capture, site = big
    t_from, t_to = 0.030000001, 0.070000001
    st = _status(site, f"from={t_from}&to={t_to}&limit=2000")
    n = len(_records_in(capture, t_from, t_to))
    assert st["level"] == "summary" and st["lanes"] == "0,1,2,3"
    # Whole buckets are counted: the window's items, plus at most a bucket's worth at each edge.
    assert n <= int(st["total"]) <= n * 1.2


_DRIVE = """
(async () => {
  const st = document.getElementById("status"), c = document.getElementById("tl");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const settle = async () => { await sleep(100); for (let i = 0; i < 400 && st.dataset.ready !== "1"; i++) await sleep(25); };
  const log = [];
  const snap = (what) => log.push({what, hash: decodeURIComponent(location.hash), ...st.dataset});
  await settle(); snap("first");
  for (let i = 0; i < 40 && st.dataset.level !== "records"; i++) {
    c.dispatchEvent(new WheelEvent("wheel", {deltaY: -400, clientX: 690, clientY: 120, bubbles: true, cancelable: true}));
    await settle();
  }
  snap("wheel");
  window.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}));
  await settle(); snap("key");
  c.dispatchEvent(new MouseEvent("mousedown", {clientX: 600, clientY: 120, bubbles: true}));
  window.dispatchEvent(new MouseEvent("mousemove", {clientX: 900, clientY: 120, bubbles: true}));
  window.dispatchEvent(new MouseEvent("mouseup", {clientX: 900, clientY: 120, bubbles: true}));
  await settle(); snap("drag");
  const f = document.getElementById("filter");
  f.value = "cpu:1 NMI"; f.dispatchEvent(new Event("input"));
  await settle(); snap("filter");
  document.getElementById("reset").click();
  await settle(); snap("reset");
  document.getElementById("zin").click();
  await settle(); snap("button");
  const pre = document.createElement("pre");
  pre.id = "drive"; pre.textContent = JSON.stringify(log);
  document.body.appendChild(pre);
})();
"""


def _window(snap: dict) -> tuple[float, float]:
    m = re.search(r"from=([\d.]+)&to=([\d.]+)", snap["hash"])
    assert m, snap
    return float(m.group(1)), float(m.group(2))


def test_wheel_keys_drag_and_filter_drive_the_page(big: tuple[Path, Path]) -> None:
    capture, site = big
    page = (site / "index.html").read_text().replace("</body>", '<script src="drive.js"></script></body>')
    (site / "drive.html").write_text(page)
    (site / "drive.js").write_text(_DRIVE)
    dom = dump_dom(page_url(site / "drive.html"), budget_ms=60000)
    m = re.search(r'<pre id="drive">(.*?)</pre>', dom, re.S)
    assert m, "the driver did not finish"
    log = {s["what"]: s for s in json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))}
    first, wheel, key, drag = (_window(log[k]) for k in ("first", "wheel", "key", "drag"))
    assert log["first"]["level"] == "overview" and log["wheel"]["level"] == "records"
    # Zooming at the pointer keeps the time under it: x=690 on a plot from 90 to 1180.
    at = lambda w: w[0] + (690 - 90) * (w[1] - w[0]) / 1090  # noqa: E731
    assert wheel[1] - wheel[0] < (first[1] - first[0]) * 0.7
    assert at(wheel) == pytest.approx(at(first), abs=(wheel[1] - wheel[0]) * 0.01)
    width = wheel[1] - wheel[0]
    assert key[0] - wheel[0] == pytest.approx(width / 4, rel=0.01)
    assert drag[0] - key[0] == pytest.approx(-300 * width / 1090, rel=0.01)
    # What the page drew at each step is what the decoder says the window holds
    # (within one record at each edge: the hash rounds the window to 1 ns).
    for name, w in (("wheel", wheel), ("key", key), ("drag", drag)):
        assert abs(int(log[name]["drawn"]) - len(_records_in(capture, *w))) <= 2, name
    shown = [r for _, r in _records_in(capture, *drag, cpus={1}) if "NMI" in r.name]
    assert log["filter"]["lanes"] == "1" and abs(int(log["filter"]["drawn"]) - len(shown)) <= 2 and shown
    assert set(log["filter"]["perCpu"].split()) <= {f"1:{n}" for n in range(len(shown) + 3)}
    assert log["reset"]["level"] == "overview"
    reset, button = _window(log["reset"]), _window(log["button"])
    assert button[1] - button[0] == pytest.approx((reset[1] - reset[0]) / 2, rel=1e-6)
    assert button[0] + button[1] == pytest.approx(reset[0] + reset[1], rel=1e-6)


def test_loss_shows_at_the_overview_and_the_records_level(tmp_path: Path) -> None:
    b = good_run(ncpus=2, rounds=3)
    frames = [f for _, f in b.frames(per_frame=4)]
    data = b"".join(frames[:2] + frames[3:])
    capture = tmp_path / "serial.bin"
    capture.write_bytes(data[:40] + b"\xff\xfe" + data[40:])
    losses = [i for i in read_records(capture.read_bytes()) if type(i) is Loss]
    # One frame of a CPU's (seq_gap on it) and noise no CPU can be named for (-1).
    assert sorted(-1 if i.cpu is None else i.cpu for i in losses) == [-1, 0]
    assert _html_dir(capture, tmp_path / "site").returncode == 0
    records = _status(tmp_path / "site")
    overview = _status(tmp_path / "site", "limit=0")
    assert records["level"] == "records" and records["loss"] == "-1,0"
    assert overview["level"] == "overview" and overview["loss"] == "-1,0"


def test_a_directory_that_is_not_a_timeline_is_not_overwritten(tmp_path: Path) -> None:
    capture = tmp_path / "serial.bin"
    capture.write_bytes(good_run(ncpus=2, rounds=1).serial())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = _html_dir(capture, tmp_path / "mine")
    assert r.returncode == 2 and "refusing to overwrite" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert _html_dir(capture, tmp_path / "site").returncode == 0
    assert _html_dir(capture, tmp_path / "site").returncode == 0, "rewriting its own directory"


def test_chunks_hold_every_item_once_in_stream_order(big: tuple[Path, Path]) -> None:
    capture, site = big
    meta = json.loads((site / "overview.js").read_text()[len("HV.overview("):-3])
    seen = []
    for cid, (lo, hi, n, first) in enumerate(meta["chunks"]):
        text = (site / "chunks" / f"c{cid:05d}.js").read_text()
        rows = json.loads(text[text.index(",") + 1:-3])
        assert len(rows) == n == min(timeline_dir.CHUNK_ITEMS, n) and rows[0][0] == first
        assert lo == min(r[1] for r in rows) and hi == max(r[1] for r in rows)
        seen += [r[0] for r in rows]
    assert seen == list(range(meta["totals"]["items"]))
