# Early stopping: the loop breaks long before range() ends; its real last iterations keep their detail
# concepts: 3, 2
import torch

torch.manual_seed(0)
x = torch.rand(20, 1)
y = 2 * x + 1
w = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([w, b], lr=0.5)
for step in range(5000):
    opt.zero_grad()
    loss = ((x * w + b - y) ** 2).mean()
    loss.backward()
    opt.step()
    if loss.item() < 1e-2:
        print("converged at step", step)
        break
print(f"w={w.item():.3f} b={b.item():.3f}")
