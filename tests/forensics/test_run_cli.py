"""The same oracle through `nansentry run` (zero-code mode, global hooks, a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(40, 4)
x[21] = 0.0  # an all-zero sample


class Norm(nn.Module):
    def forward(self, h):
        return h / h.abs().sum(-1, keepdim=True)  # AT:div


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(Norm(), nn.Linear(4, 8))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.enc(x))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
dl = DataLoader(TensorDataset(x, torch.zeros(40, dtype=torch.long)), batch_size=8, shuffle=True,
                num_workers=2, generator=torch.Generator().manual_seed(4))
for epoch in range(2):
    for xb, yb in dl:
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
'''


def _stopped_run(script: Path, text: str) -> dict:
    """`nansentry run --json` on `text` saved as `script`: it must stop (exit 1); the report."""
    script.write_text(text)
    out = script.with_suffix(".json")
    exe = Path(sys.executable).with_name("nansentry")
    p = subprocess.run([str(exe), "run", "--json", str(out), str(script)], capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 1, p.stderr[-2000:]
    return json.loads(out.read_text())


def test_run_names_op_module_line_and_sample(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    r = _stopped_run(script, SCRIPT)
    fn = r["first_nonfinite"]
    line = next(i for i, s in enumerate(SCRIPT.splitlines(), 1) if s.endswith("# AT:div"))
    assert (fn["phase"], fn["op"], fn["module"], fn["file"], fn["line"]) == (
        "forward", "div", "enc.0", str(script.resolve()), line)
    assert r["bad_samples"] == [21]
    assert r["reproduced"] is True


TAGGER = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class Sentences(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.items = [torch.randint(1, 30, (0 if i == 13 else int(torch.randint(1, 9, (1,), generator=g)),),
                                    generator=g) for i in range(48)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def pad(items):
    words = torch.zeros(len(items), max(max(len(w) for w in items), 1), dtype=torch.long)
    for r, w in enumerate(items):
        words[r, :len(w)] = w
    return words, (words > 0).float()


model = nn.Sequential(nn.Embedding(30, 8), nn.Linear(8, 4))
token_loss = nn.CrossEntropyLoss(reduction="none")  # a loss *module*: a second root call
opt = torch.optim.SGD(model.parameters(), lr=0.1)
dl = DataLoader(Sentences(), batch_size=8, shuffle=True, collate_fn=pad, generator=torch.Generator().manual_seed(2))
for words, mask in dl:
    logits = model(words)
    tok = token_loss(logits.flatten(0, 1), (words % 4).flatten()).view_as(mask)
    loss = ((tok * mask).sum(1) / mask.sum(1)).mean()  # AT:div
    opt.zero_grad()
    loss.backward()
    opt.step()
'''


def test_samples_found_through_a_loss_module_on_flattened_outputs(tmp_path: Path) -> None:
    """The sample search replays subsets: the loss module's arguments (the model's output,
    flattened with the sequence dim) come from the replay, and B*T view sizes are rescaled."""
    r = _stopped_run(tmp_path / "tagger.py", TAGGER)
    assert (r["first_nonfinite"]["phase"], r["first_nonfinite"]["op"]) == ("loss", "div")
    assert r["bad_samples"] == [13]
