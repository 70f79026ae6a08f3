import torch

model = model.to(device, dtype=torch.float16)  # expect: NS110
for batch in loader:
    with torch.autocast(device_type="cuda", dtype=torch.float16):  # expect: NS110
        loss = model(batch).mean()
    loss.backward()
    optimizer.step()
