# Updating parameters by hand inside torch.no_grad()
# concepts: 2, 7
import torch

torch.manual_seed(1)
x = torch.linspace(-1, 1, 10)
y = 0.5 * x - 0.2
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
for epoch in range(5):
    loss = ((w * x + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
        b -= 0.5 * b.grad
    w.grad.zero_()
    b.grad.zero_()
    print(epoch, f"{loss.item():.5f}", f"{w.item():.4f}", f"{b.item():.4f}")
