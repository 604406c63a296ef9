# torch.where does not protect the backward pass: the unused branch still makes NaN
# concepts: 11
import torch

x = torch.tensor([-1.0, 0.0, 4.0], requires_grad=True)
safe = torch.where(x > 0, torch.sqrt(x), torch.zeros_like(x))
print("forward:", safe)
safe.sum().backward()
print("x.grad:", x.grad)
