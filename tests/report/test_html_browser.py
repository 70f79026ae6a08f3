"""Open the HTML report in a real headless browser and find the diagnosis in the DOM."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.report.helpers import make_dir

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def _chromium(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium); the browser check needs it")
    d, report = make_dir(tmp_path, "exploding_rnn")
    url = (d / "report.html").resolve().as_uri()
    r = _chromium(browser, tmp_path, "--dump-dom", url)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert report.diagnosis is not None
    assert "exploding_gradients" in dom
    assert report.diagnosis.summary.rstrip(".") in dom
    assert dom.count("<svg") >= 4 and "Gradient norm per module" in dom
    shot = tmp_path / "page.png"
    r = _chromium(browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert r.returncode == 0 and shot.stat().st_size > 20_000  # a blank page is a few KB
