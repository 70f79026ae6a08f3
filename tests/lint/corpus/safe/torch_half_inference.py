import torch

model = Net().cuda().half().eval()
with torch.no_grad():
    for x in loader:
        y = model(x.cuda().half())
