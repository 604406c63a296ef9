# In-place operations: CopySlices, version counters and "modified by an inplace operation"
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

y = x * 2
y[0] = 0.0  # allowed: writing into a non-leaf is recorded as a CopySlices node
y.sum().backward()
print("x.grad =", x.grad)  # y[0] no longer depends on x, so its gradient is 0

x.grad = None
e = x.exp()  # the exp node saves its output e: d exp(x)/dx = exp(x)
f = e + 1  # the fix: an out-of-place op makes a new tensor, e is untouched
f.sum().backward()
print("x.grad =", x.grad)

e = x.exp()
print("version of e before e += 1:", e._version)
e += 1  # the mistake: changes the tensor the exp node saved
print("version of e after e += 1: ", e._version)
e.sum().backward()  # the saved e is at version 1, backward expected version 0
