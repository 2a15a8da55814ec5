"""Headless Chromium for the HTML report tests and benchmark: screenshots, the DOM, console
errors, with the network closed (an unreachable proxy, every host name resolving nowhere)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
NO_NETWORK = (
    "--proxy-server=127.0.0.1:9",  # the discard port: nothing listens
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
COMMON = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--enable-logging=stderr",
    "--v=0",
    *NO_NETWORK,
)
# Chromium's console messages on stderr: "CONSOLE(12)] ..." or '"Uncaught ...", source: ...'
CONSOLE = re.compile(r"CONSOLE\(\d+\)|:CONSOLE|Uncaught|source: (file|data|http)")


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian's package: ``chromium``), or None."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Run:
    stdout: str
    stderr: str
    seconds: float

    @property
    def console(self) -> list[str]:
        """The console messages the page logged (errors, warnings, uncaught exceptions)."""
        return [line for line in self.stderr.splitlines() if CONSOLE.search(line)]


def chromium(page: Path, *args: str, profile: Path, timeout: float = 120) -> Run:
    """Run headless Chromium on ``page`` with ``args`` in a fresh profile folder."""
    binary = find_chromium()
    assert binary is not None
    env = {**os.environ, "HOME": str(profile)}
    cmd = [binary, *COMMON, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Run(proc.stdout, proc.stderr, took)


def page_fetches(netlog: Path) -> list[str]:
    """The http(s) URLs a ``file://`` page asked for, from Chromium's NetLog
    (``--log-net-log``): requests whose site for cookies is the page's file:// site. Chromium's
    own background requests (update checks, accounts) have no such site and are left out."""
    import json

    doc = json.loads(netlog.read_text(encoding="utf-8", errors="replace"))
    urls = []
    for event in doc.get("events", []):
        params = event.get("params") or {}
        url = params.get("url", "")
        site = str(params.get("site_for_cookies", "")) + str(params.get("initiator", ""))
        if url.startswith(("http://", "https://")) and "file://" in site:
            urls.append(url)
    return sorted(set(urls))


def screenshot(page: Path, png: Path, profile: Path, size: str = "1200,1600") -> Run:
    return chromium(page, f"--screenshot={png}", f"--window-size={size}", profile=profile)


def dump_dom(page: Path, profile: Path, netlog: Path | None = None) -> Run:
    log = () if netlog is None else (f"--log-net-log={netlog}",)
    return chromium(page, "--dump-dom", *log, profile=profile)


def pixel_stats(png: Path) -> tuple[float, float]:
    """(fraction of pixels that are not white, standard deviation of the grey levels)."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(Image.open(png).convert("L"), dtype=np.float64)
    return float(np.mean(grey < 250)), float(grey.std())
