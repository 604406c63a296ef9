# Gradient clipping inside a training loop, with an optimizer step after it
# concepts: 12, 3
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.5)
x = torch.randn(16, 2) * 5
y = (x[:, :1] * 3 - x[:, 1:]) * 4
for step in range(4):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()
    print(step, f"loss {loss.item():.3f}", f"norm {norm.item():.3f}")
