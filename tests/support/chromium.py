"""Headless Chromium for the timeline's test and benchmark: load a page, let its
scripts run, return the DOM as it then stands."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1200,800"]


def dump_dom(url: str, budget_ms: int = 10000, timeout_s: float = 300) -> str:
    """The DOM after the page's scripts have had budget_ms of (virtual) time: Chromium
    fast-forwards timers while idle, so this waits for loading and drawing, not the clock."""
    with tempfile.TemporaryDirectory(prefix="hv-chromium-") as profile:
        r = subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                            "--dump-dom", url], capture_output=True, text=True, timeout=timeout_s)
    if "<html" not in r.stdout:
        raise RuntimeError(f"chromium dumped no DOM (rc {r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def element_data(dom: str, element_id: str) -> dict[str, str]:
    """The data-* attributes of the element with this id (names as in dataset: camelCase)."""
    m = re.search(rf'<[a-z]+ id="{re.escape(element_id)}"([^>]*)>', dom)
    if m is None:
        raise LookupError(f"no element #{element_id} in the DOM")
    out = {}
    for name, value in re.findall(r'data-([a-z0-9-]+)="([^"]*)"', m.group(1)):
        camel = re.sub(r"-([a-z0-9])", lambda g: g.group(1).upper(), name)
        out[camel] = html.unescape(value)
    return out


def page_url(path: Path, fragment: str = "") -> str:
    return path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
