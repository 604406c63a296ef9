# One neuron: a weighted sum, a sigmoid, a binary cross-entropy loss
# concepts: 1, 4
import torch

torch.manual_seed(0)
x = torch.randn(4)
w = torch.randn(4, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
target = torch.tensor([1.0])

z = w @ x + b
p = torch.sigmoid(z)
loss = -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()
loss.backward()

print(f"p = {p.item():.4f}  loss = {loss.item():.4f}")
print("w.grad =", w.grad)
print("b.grad =", b.grad)
print("requires_grad:", z.requires_grad, p.requires_grad, x.requires_grad)
