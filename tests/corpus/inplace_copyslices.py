# Writing into part of a tensor in place: autograd records a CopySlices node
# concepts: 14
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x * 2
print("version before:", y._version)
y[0] = 10.0
print("version after:", y._version)
print(y, y.grad_fn.name())
y.sum().backward()
print("x.grad:", x.grad)

m = torch.zeros(2, 2)
w = torch.tensor(4.0, requires_grad=True)
m[0, 0] = w * 3
m.sum().backward()
print("w.grad:", w.grad, m.grad_fn.name())
