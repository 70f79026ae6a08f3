"""Records, rules, reports and the diagnose/explain commands run without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.report.helpers import make_dir

BLOCK = textwrap.dedent("""
    import sys
    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked for this test")
            return None
    sys.meta_path.insert(0, _NoTorch())
""")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)


def test_the_hook_really_blocks_torch() -> None:
    r = _run("import torch")
    assert r.returncode != 0 and "torch is blocked" in r.stderr


def test_diagnose_and_report_without_torch(tmp_path: Path) -> None:
    d, _ = make_dir(tmp_path, "div_zero_norm")
    r = _run(f"""
        import nansentry.diagnose, nansentry.report, nansentry.records
        from nansentry.cli import main
        rc = main(["diagnose", {str(d)!r}])
        assert rc == 1, rc
        assert main(["explain", "NS203"]) == 0
        assert "torch" not in sys.modules
        print("NO-TORCH-OK")
    """)
    assert r.returncode == 0, r.stderr
    assert "NO-TORCH-OK" in r.stdout and "division_by_zero" in r.stdout
