"""Suppressions, folder walking, output formats and exit codes of `nansentry lint`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nansentry.cli import lint as cli
from nansentry.lint import lint_paths, lint_source

UNSAFE = "import torch\np = torch.softmax(z, -1)\nloss = torch.log(p){comment}\n"


@pytest.mark.parametrize(("comment", "silenced"), [
    ("", False),
    ("  # nansentry: ignore[NS101]", True),
    ("  # nansentry: ignore[log-of-softmax]", True),
    ("  # nansentry: ignore[NS103, NS101]", True),
    ("  # nansentry: ignore", True),
    ("  # nansentry: ignore[NS102]", False),
    ("  # a comment", False),
], ids=["none", "code", "name", "list", "bare", "other-code", "unrelated"])
def test_suppression_comment(comment: str, silenced: bool) -> None:
    assert (lint_source(UNSAFE.format(comment=comment)) == []) is silenced


def test_ignore_inside_a_string_does_not_silence() -> None:
    src = "p = torch.softmax(z, -1)\nloss = torch.log(p); s = '# nansentry: ignore'\n"
    assert [f.code for f in lint_source(src)] == ["NS101"]


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *paths: str, fmt: str = "text") -> tuple[int, str, str]:
    code = cli.run(argparse.Namespace(paths=[str(tmp_path / p) for p in paths], format=fmt))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(UNSAFE.format(comment=""))
    (tmp_path / "pkg" / "good.py").write_text("import torch\nx = torch.log_softmax(z, -1)\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text(UNSAFE.format(comment=""))
    (tmp_path / "broken.py").write_text("print 'python 2'\n")
    return tmp_path


def test_exit_1_and_ruff_style_text_on_findings(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(tree, capsys, "pkg")
    assert code == 1
    assert out.splitlines()[0].startswith(f"{tree / 'pkg' / 'bad.py'}:3:8: NS101 log-of-softmax  `torch.log(p)`")
    assert out.splitlines()[1].startswith("    fix: ")
    assert ".venv" not in out and "1 finding(s) in 2 file(s)" in err


def test_exit_0_on_clean_file(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tree, capsys, "pkg/good.py")[:2] == (0, "")


def test_json_has_the_contract_fields(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(tree, capsys, "pkg", fmt="json")
    (finding,) = json.loads(out)["findings"]
    assert code == 1
    assert {"file", "line", "code", "name", "message", "fix"} <= set(finding)
    assert (finding["line"], finding["code"], finding["name"]) == (3, "NS101", "log-of-softmax")


@pytest.mark.parametrize(("path", "says"), [
    ("missing.py", "no such file or directory"),
    ("broken.py", "cannot parse as Python 3 (line 1"),
], ids=["missing", "unparsable"])
def test_exit_2_says_what_happened(tree: Path, capsys: pytest.CaptureFixture[str], path: str, says: str) -> None:
    code, _, err = _run(tree, capsys, path, "pkg")
    assert code == 2 and says in err and path in err


def test_findings_of_other_files_still_reported_with_an_error(tree: Path) -> None:
    findings, errors = lint_paths([str(tree / "broken.py"), str(tree / "pkg")])
    assert [f.code for f in findings] == ["NS101"] and len(errors) == 1


def test_register_adds_lint_with_run_as_func() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["lint", "--format", "json", "a.py", "b"])
    assert (args.func, args.format, args.paths) == (cli.run, "json", ["a.py", "b"])


def test_lint_imports_and_runs_without_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "from nansentry.lint import lint_source\n"
            "print([f.code for f in lint_source('x = torch.log(torch.softmax(z, -1))')])\n")
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": src}, check=True).stdout
    assert out.strip() == "['NS101']"
