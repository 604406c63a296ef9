# x.to(...) and x * 1 of a leaf are not leaves; requires_grad propagates
# concepts: 4
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = torch.tensor([0.5, 0.5])
x64 = x.to(torch.float64)
x1 = x * 1
z = x1 + y
print(x.is_leaf, x64.is_leaf, x1.is_leaf)
print(y.requires_grad, z.requires_grad)
(x64.sum() + z.sum()).backward()
print(x.grad)
print(x64.grad_fn.name())
