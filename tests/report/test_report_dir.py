"""The report dir: JSON by the contract, trace written if missing, HTML self-contained and escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.report.helpers import EVIL, make_dir

from nansentry.records import ROOT_CAUSES
from nansentry.trace import load_report_dir

CONTRACT_KEYS = {"schema", "status", "steps", "first_nonfinite", "diagnosis", "bad_samples", "interventions"}


def test_files_and_contract_json(tmp_path: Path) -> None:
    d, report = make_dir(tmp_path, "log_degenerate_samples")
    assert {p.name for p in d.iterdir()} >= {"report.json", "finding.json", "trace.jsonl", "report.html"}
    data = json.loads((d / "report.json").read_text())
    assert CONTRACT_KEYS <= set(data)
    assert data["schema"] == 1 and data["status"] == "nonfinite"
    assert set(data["first_nonfinite"]) == {"step", "phase", "op", "module", "file", "line", "tensor"}
    assert data["first_nonfinite"]["op"] == "log" and data["first_nonfinite"]["line"] == 12
    diag = data["diagnosis"]
    assert diag["root_cause"] in ROOT_CAUSES and diag["root_cause"] == "log_of_zero"
    assert set(diag) == {"root_cause", "confidence", "summary", "evidence", "fixes", "alternatives"}
    assert all(set(f) == {"action", "detail"} for f in diag["fixes"])
    assert data["bad_samples"] == [137, 555]
    saved = load_report_dir(d)
    assert len(saved.records) == 41 and saved.finding is not None and saved.report.diagnosis == report.diagnosis


def test_live_trace_is_not_overwritten(tmp_path: Path) -> None:
    d = tmp_path / "r"
    d.mkdir()
    (d / "trace.jsonl").write_text('{"step": 0, "loss": 1.0}\n')
    from tests.diagnose.synth import CASES

    from nansentry.report import build_report, write_report_dir
    c = CASES["log_softmax_zero"]()
    write_report_dir(d, build_report(c.records, c.finding, c.run), c.finding, c.run, c.records)
    assert (d / "trace.jsonl").read_text() == '{"step": 0, "loss": 1.0}\n'


def test_html_is_self_contained(tmp_path: Path) -> None:
    d, _ = make_dir(tmp_path, "exploding_rnn")
    page = (d / "report.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert page.count("<svg") >= 4  # loss, norms, lr, update ratio (+ heat map)
    assert "Gradient norm per module" in page and "step 60: non-finite" in page
    assert "exploding_gradients" in page and "clip_grad_norm_" in page


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    d, _ = make_dir(tmp_path, "log_softmax_zero", evil=True)
    page = (d / "report.html").read_text()
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_healthy_page(tmp_path: Path) -> None:
    from tests.diagnose.synth import healthy

    from nansentry.records import RunInfo
    from nansentry.report import build_report, write_report_dir
    recs = healthy(30)
    d = write_report_dir(tmp_path / "h", build_report(recs, None, RunInfo()), None, RunInfo(), recs)
    page = (d / "report.html").read_text()
    assert "healthy run" in page and "Why" not in page
    assert json.loads((d / "report.json").read_text())["diagnosis"] is None
