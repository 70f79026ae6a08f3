import torch

model = Net().cuda().half()  # expect: NS110
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    x = x.cuda().half()  # expect: NS110
    loss = criterion(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
