# Epochs of mini-batches: the inner loop's first and last steps of each epoch are kept in
# detail, the steps between are left out (and counted); the loss curve has every step
# concepts: 3, 10
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(48, 3)
y = x.sum(dim=1, keepdim=True)
for epoch in range(4):
    for start in range(0, 48, 4):
        xb, yb = x[start : start + 4], y[start : start + 4]
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(epoch, round(loss.item(), 5))
