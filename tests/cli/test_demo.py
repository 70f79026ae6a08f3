"""`nansentry demo` (what `make demo` runs): caught, located and explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_demo_catches_and_explains_the_handwritten_cross_entropy(tmp_path):
    r = subprocess.run([sys.executable, "-m", "nansentry", "demo", "--report", str(tmp_path / "rep")],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    fn = rep["first_nonfinite"]
    assert (fn["phase"], fn["op"]) == ("loss", "log")
    assert fn["file"].endswith("handwritten_cross_entropy.py") and fn["line"] == 32
    assert rep["diagnosis"]["root_cause"] == "log_of_zero"
    assert "log_softmax" in r.stderr and "handwritten_cross_entropy.py:32" in r.stderr
    assert (tmp_path / "rep" / "report.html").is_file()
