# Leaf or not: only leaves that require grad get .grad; a non-leaf's .grad is None
# concepts: 4
import torch

a = torch.tensor([1.0, 2.0], requires_grad=True)
b = torch.tensor([3.0, 4.0])
c = a * b
d = c.sum()
print("is_leaf:", a.is_leaf, b.is_leaf, c.is_leaf, d.is_leaf)
print("requires_grad:", a.requires_grad, b.requires_grad, c.requires_grad)
d.backward()
print("a.grad:", a.grad)
print("b.grad:", b.grad)
print("c.grad:", c.grad)
print("grad_fn:", c.grad_fn.name(), d.grad_fn.name())
