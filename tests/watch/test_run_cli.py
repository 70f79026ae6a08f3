"""`nansentry run`: the script behaves as under plain python; bad input exits 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

TRAIN = '''
import sys, torch
from torch import nn
import helper                      # the script's own folder is importable
print("argv=" + ",".join(sys.argv[1:]), "name=" + __name__)
torch.manual_seed(0)
X = torch.randn(64, 4); Y = X.sum(1, keepdim=True)
if "--nan" in sys.argv:
    X[37, 2] = float("nan")
dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=8, shuffle=True)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for x, y in dl:
    loss = nn.functional.mse_loss(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
    if "--crash" in sys.argv:
        helper.boom()
    if "--sleep" in sys.argv:
        import time; print("ready", flush=True); time.sleep(30)
print("done", flush=True)
sys.exit(int(helper.STATUS) if "--status" in sys.argv else 0)
'''


@pytest.fixture
def script(tmp_path: Path) -> Path:
    (tmp_path / "helper.py").write_text("STATUS = 3\ndef boom():\n    raise ValueError('user bug here')\n")
    path = tmp_path / "train.py"
    path.write_text(TRAIN)
    return path


def nansentry(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "nansentry", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def test_healthy_script_argv_main_and_summary_line(script, tmp_path):
    r = nansentry("run", "--json", str(tmp_path / "r.json"), str(script), "--lr", "3", "--json", "x")
    assert r.returncode == 0, r.stderr
    assert "argv=--lr,3,--json,x name=__main__" in r.stdout  # flags after SCRIPT belong to it
    assert "done" in r.stdout
    assert len(r.stderr.strip().splitlines()) == 1 and "healthy" in r.stderr
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "healthy"


def test_exit_status_passes_through(script):
    r = nansentry("run", str(script), "--status")
    assert r.returncode == 3


def test_nonfinite_data_stops_with_report(script, tmp_path):
    r = nansentry("run", "--report", str(tmp_path / "rep"), str(script), "--nan")
    assert r.returncode == 1
    assert "done" not in r.stdout
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["first_nonfinite"]["phase"] == "data" and rep["bad_samples"] == [37]
    assert (tmp_path / "rep" / "trace.jsonl").exists() and (tmp_path / "rep" / "report.html").exists()
    assert "dirty_data" in r.stderr


def test_user_crash_shows_their_traceback_and_keeps_the_report(script, tmp_path):
    r = nansentry("run", "--json", str(tmp_path / "r.json"), str(script), "--crash")
    assert r.returncode == 1
    assert "ValueError: user bug here" in r.stderr
    assert 'helper.py", line 3, in boom' in r.stderr
    assert "nansentry/cli" not in r.stderr and "runpy" not in r.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["status"] == "healthy" and rep["steps"] == 1


def test_sigterm_flushes_trace_and_report(script, tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    p = subprocess.Popen([sys.executable, "-m", "nansentry", "run", "--report", str(tmp_path / "rep"), str(script),
                          "--sleep"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    while (line := p.stdout.readline()) and line.strip() != "ready":
        pass
    assert line.strip() == "ready"
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["steps"] == 1
    assert (tmp_path / "rep" / "trace.jsonl").read_text().count("\n") == 1


def test_module_mode(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(textwrap.dedent('''
        import sys, torch
        m = torch.nn.Linear(2, 1); o = torch.optim.SGD(m.parameters(), 0.1)
        for _ in range(3):
            l = m(torch.ones(4, 2)).sum(); o.zero_grad(); l.backward(); o.step()
        print("mod", __name__, sys.argv[1:])
    '''))
    r = nansentry("run", "--json", str(tmp_path / "r.json"), "-m", "pkg.train", "a", "b", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "mod __main__ ['a', 'b']" in r.stdout
    assert json.loads((tmp_path / "r.json").read_text())["steps"] == 3


@pytest.mark.parametrize("args,needle", [
    (["run", "no_such_script.py"], "no such script"),
    (["run", "--frobnicate", "x.py"], "unrecognized arguments"),
    (["run"], "no script given"),
    (["run", "--recover", "sometimes", "x.py"], "invalid choice"),
    (["run", "--report", "/proc/nope/dir", "SCRIPT"], "cannot write the report directory"),
    (["run", "--recover", "auto", "--clip-max-norm", "none", "SCRIPT"], "--clip-max-norm takes a gradient norm"),
], ids=["missing-script", "unknown-flag", "no-script", "bad-recover", "unwritable-report", "bad-clip-norm"])
def test_bad_input_exits_2_with_a_clear_message(script, args, needle):
    args = [str(script) if a == "SCRIPT" else a for a in args]
    r = nansentry(*args)
    assert r.returncode == 2
    assert needle in r.stderr
