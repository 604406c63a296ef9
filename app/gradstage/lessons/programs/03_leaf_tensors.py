# Leaf or not: only leaves that require grad get .grad; retain_grad() keeps a non-leaf's
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)  # made by you: a leaf that requires grad
c = torch.tensor([3.0, 4.0])                      # a leaf too, but it does not require grad
y = x * c                                         # made by an op: not a leaf
x64 = x.to(torch.float64)                         # a converted copy is made by an op too
print("x:  ", x.is_leaf, x.requires_grad)
print("c:  ", c.is_leaf, c.requires_grad)
print("y:  ", y.is_leaf, y.requires_grad, type(y.grad_fn).__name__)
print("x64:", x64.is_leaf, x64.requires_grad, type(x64.grad_fn).__name__)

z = (y ** 2).sum()
z.backward()
print("x.grad =", x.grad)  # dz/dx = 2·y·c
print("c.grad =", c.grad)  # None: c does not require grad
print("y.grad =", y.grad)  # None, and PyTorch warns: y is not a leaf

y = x * c
y.retain_grad()  # ask autograd to keep this non-leaf's gradient
z = (y ** 2).sum()
z.backward()
print("y.grad =", y.grad)  # dz/dy = 2·y
print("x.grad =", x.grad)  # the second backward() added to the first
