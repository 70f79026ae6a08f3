"""Mixed precision (torch.autocast float16 on CPU) on a model whose activations are large.

A regression MLP on un-normalised spectra (raw counts ~500) was developed in float32/bfloat16
and switched to float16 autocast "for speed". The matmuls run in float16; the second
hidden layer's pre-activations exceed 65504 (the float16 maximum) and become inf inside
module "mlp.2" (op addmm under autocast). float32 and bfloat16 hold the same values fine.
Fix: bfloat16, or keep the overflow-prone layers in float32 / normalise the inputs.
"""
# nansentry-scenario: {"cause": "fp16_overflow", "phase": "forward", "op": "addmm", "module": "mlp.2", "samples": [], "recoverable": false, "heldout": false, "step": 0}
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
n = 256
spectra = 500 + 300 * torch.rand(n, 64)
target = spectra[:, :8].mean(1, keepdim=True) / 500


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 1))
        nn.init.normal_(self.mlp[0].weight, std=0.5)
        nn.init.normal_(self.mlp[2].weight, std=1.0)

    def forward(self, x):
        return self.mlp(x)  # EXPECT-NAN


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=1e-6)
loader = DataLoader(TensorDataset(spectra, target), batch_size=32, shuffle=True)
losses, step = [], 0
for epoch in range(4):
    for x, y in loader:
        with torch.autocast("cpu", dtype=torch.float16):
            out = model(x)
        loss = nn.functional.mse_loss(out.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"step {step} loss {loss.item():.4g}")
        step += 1
print(f"final_loss={sum(losses[-10:]) / 10}")
