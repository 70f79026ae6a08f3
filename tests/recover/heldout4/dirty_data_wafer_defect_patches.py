"""Wafer-defect patch classifier: loss goes nan in the first epoch and never comes back.

Model: a small CNN (conv -> BatchNorm2d -> ReLU, twice, then a linear head)
classifying 1x16x16 grey-scale inspection patches into 4 defect classes
(none / scratch / spot / ring).  Training uses a map-style Dataset, a
DataLoader with shuffle=True and batch_size=32, Adam (lr=1e-3) and a
ReduceLROnPlateau scheduler on the validation loss.  Every epoch there is an
eval pass over a clean validation set under model.eval() + torch.no_grad().

What goes wrong: four of the 640 training patches (dataset indices 37, 203,
388 and 590) came out of a truncated TIFF; the decoder filled the part it
could not read with nan.  The first time one of them lands in a shuffled
batch (optimizer step 6 here), BatchNorm2d's batch mean/var become nan, so
the whole batch's logits and the loss are nan, Adam writes nan into every
weight and the running statistics are nan as well.  From then on every
training loss and every validation loss is nan; final_loss is nan.

--clean: drop the patches that contain non-finite pixels before the Dataset
is built (the user's fix); everything else is identical.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [37, 203, 388, 590], "nan_step": 6}

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

NUM_CLASSES = 4
CLASS_NAMES = ["none", "scratch", "spot", "ring"]
CORRUPT_TIFFS = [37, 203, 388, 590]  # what the decoder choked on (found later)


def render_patches(n, gen):
    """Synthesise grey-scale 16x16 inspection patches of the 4 defect classes."""
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    images = torch.empty(n, 1, 16, 16)
    labels = torch.randint(0, NUM_CLASSES, (n,), generator=gen)
    for i in range(n):
        img = 0.3 * torch.randn(16, 16, generator=gen)
        cls = int(labels[i])
        cx, cy = torch.randint(4, 12, (2,), generator=gen).tolist()
        if cls == 1:  # scratch: a bright line at a random angle
            ang = float(torch.rand(1, generator=gen)) * math.pi
            d = (xx - cx) * math.sin(ang) - (yy - cy) * math.cos(ang)
            img += 1.5 * torch.exp(-d ** 2)
        elif cls == 2:  # spot: a gaussian blob
            r2 = (xx - cx) ** 2 + (yy - cy) ** 2
            img += 2.0 * torch.exp(-r2 / 3.0)
        elif cls == 3:  # ring
            r = ((xx - cx) ** 2 + (yy - cy) ** 2).sqrt()
            img += 1.5 * torch.exp(-((r - 3.5) ** 2))
        images[i, 0] = img
    return images, labels


def load_inspection_images(n, gen, corrupt=()):
    images, labels = render_patches(n, gen)
    # the "decoder": a truncated file leaves the unread rows as nan
    for i in corrupt:
        images[i, 0, 9:, :] = float("nan")
    return images, labels


class PatchDataset(Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


class DefectCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 4 * 4, NUM_CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.flatten(1))


def evaluate(model, loader):
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    model.train()
    return loss_sum / total, correct / total


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", action="store_true",
                        help="drop images with non-finite pixels before training")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    torch.manual_seed(0)
    data_gen = torch.Generator().manual_seed(1234)
    train_x, train_y = load_inspection_images(640, data_gen, corrupt=CORRUPT_TIFFS)
    val_x, val_y = load_inspection_images(160, data_gen)

    if args.clean:
        keep = torch.isfinite(train_x).flatten(1).all(1)
        print(f"dropping {(~keep).sum().item()} corrupt images")
        train_x, train_y = train_x[keep], train_y[keep]

    train_ds = PatchDataset(train_x, train_y)
    val_ds = PatchDataset(val_x, val_y)
    loader_gen = torch.Generator().manual_seed(42)
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, generator=loader_gen)
    val_loader = DataLoader(val_ds, batch_size=64, shuffle=False)

    model = DefectCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min",
                                                           factor=0.5, patience=1)

    losses = []
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for x, y in train_loader:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % 20 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f}")
            step += 1
        val_loss, val_acc = evaluate(model, val_loader)
        scheduler.step(val_loss)
        print(f"epoch {epoch} val_loss {val_loss:.4f} val_acc {val_acc:.3f} "
              f"lr {optimizer.param_groups[0]['lr']:.2e}")

    last = losses[-10:]
    print(f"final_loss={sum(last) / len(last)}")


if __name__ == "__main__":
    main()
