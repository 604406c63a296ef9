# In-place ops on non-leaves bump the version counter; autograd still works when safe
# concepts: 14
import torch

a = torch.tensor([1.0, 2.0], requires_grad=True)
b = a + 1
print(b._version)
b.mul_(3)
print(b._version)
b += 1
print(b._version, b.grad_fn.name())
b.sum().backward()
print(a.grad)
