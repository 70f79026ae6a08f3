"""Time-series regression whose targets hold +inf for a few windows (sensor ratio / 0).

A 1-D CNN forecasts the next value of a sensor window. The target column was computed
upstream as a ratio and is +inf where the denominator was 0 (windows 15 and 230). The
inputs are clean; the targets are not. DataLoader(shuffle=True, num_workers=2, persistent_workers=True). The first
batch holding one of them makes the MSE loss inf and the weights NaN after the step.
Fix: drop or repair those windows (--clean drops them).
"""
# nansentry-scenario: {"cause": "dirty_data", "phase": "data", "op": null, "module": null, "samples": [15], "recoverable": true, "heldout": false, "step": 6}
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

BAD_INDICES = [15, 230]


class Windows(Dataset):
    def __init__(self, clean, n=320, length=32):
        t = torch.arange(n + length + 1, dtype=torch.float32)
        series = torch.sin(t / 7) + 0.3 * torch.sin(t / 3) + 0.05 * torch.randn(len(t))
        self.x = torch.stack([series[i:i + length] for i in range(n)]).unsqueeze(1)
        self.y = series[length:length + n].clone().unsqueeze(1)
        self.y[BAD_INDICES] = float("inf")
        self.keep = [i for i in range(n) if not (clean and i in BAD_INDICES)]

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, i):
        i = self.keep[i]
        return self.x[i], self.y[i]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true", help="drop the inf targets")
    args = parser.parse_args()
    torch.manual_seed(0)
    loader = DataLoader(Windows(args.clean), batch_size=32, shuffle=True, num_workers=2, persistent_workers=True)
    model = nn.Sequential(
        nn.Conv1d(1, 8, 5, padding=2), nn.ReLU(), nn.Conv1d(8, 8, 5, padding=2), nn.ReLU(),
        nn.AdaptiveAvgPool1d(4), nn.Flatten(), nn.Linear(32, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses, step = [], 0
    for epoch in range(3):
        for x, y in loader:
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"step {step} loss {loss.item():.4f}")
            step += 1
    print(f"final_loss={sum(losses[-10:]) / 10}")


if __name__ == "__main__":
    main()
