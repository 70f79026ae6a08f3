"""`nansentry diagnose DIR` and `nansentry explain CODE` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.report.helpers import make_dir

from nansentry.cli import main


def test_diagnose_rewrites_diagnosis_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d, _ = make_dir(tmp_path, "sqrt_grad_at_zero")
    raw = json.loads((d / "report.json").read_text())
    raw["diagnosis"] = {"root_cause": "unknown", "confidence": 0.1, "summary": "stale", "evidence": [],
                        "fixes": [], "alternatives": []}
    raw["custom_field"] = 7  # additive fields survive
    (d / "report.json").write_text(json.dumps(raw))
    (d / "report.html").unlink()
    assert main(["diagnose", str(d)]) == 1
    out = capsys.readouterr().out
    assert "singular_gradient" in out and "WHERE" in out and "\x1b[" not in out
    new = json.loads((d / "report.json").read_text())
    assert new["diagnosis"]["root_cause"] == "singular_gradient" and new["custom_field"] == 7
    assert "singular_gradient" in (d / "report.html").read_text()


def test_diagnose_healthy_dir_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.diagnose.synth import healthy

    from nansentry.records import RunInfo
    from nansentry.report import build_report, write_report_dir
    recs = healthy(12)
    d = write_report_dir(tmp_path / "h", build_report(recs, None, RunInfo()), None, RunInfo(), recs)
    assert main(["diagnose", str(d)]) == 0
    assert "healthy" in capsys.readouterr().out


def test_diagnose_not_a_report_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "report.json not found" in capsys.readouterr().err
    (tmp_path / "report.json").write_text("{}")
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "not a nansentry report" in capsys.readouterr().err


@pytest.mark.parametrize("code", ["NS201", "log-of-zero", "log_of_zero", "ns299"])
def test_explain_diagnosis_codes(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", code]) == 0
    out = capsys.readouterr().out
    assert "What it detects" in out and "Fix" in out


def test_explain_unknown_code_lists_known(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "NS999"]) == 2
    err = capsys.readouterr().err
    assert "unknown code 'NS999'" in err and "NS201 log-of-zero" in err and "NS299 unknown-cause" in err


def test_explain_tolerates_missing_lint_catalog(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "nansentry.lint.catalog", None)  # import now raises ImportError
    assert main(["explain", "NS205"]) == 0
    assert "exp-overflow" in capsys.readouterr().out
