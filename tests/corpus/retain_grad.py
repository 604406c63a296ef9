# retain_grad() keeps the gradient of an intermediate tensor
# concepts: 4
import torch

x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
h = x * 2
h.retain_grad()
y = torch.relu(h)
y.retain_grad()
loss = (y**2).sum()
loss.backward()
print("x.grad:", x.grad)
print("h.grad:", h.grad)
print("y.grad:", y.grad)
print("h.retains_grad:", h.retains_grad)
