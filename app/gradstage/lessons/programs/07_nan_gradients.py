# NaN in backward: sqrt has an infinite slope at 0, and 0 · inf is NaN
import torch

p = torch.tensor([1.0, 2.0], requires_grad=True)
q = torch.tensor([1.0, 2.0])  # the same point: their distance is 0
dist = torch.sqrt(((p - q) ** 2).sum())
dist.backward()
print("dist =", dist.item(), " p.grad =", p.grad)  # the forward pass is fine, the gradient is not

p.grad = None
safe = torch.sqrt(((p - q) ** 2).sum() + 1e-12)  # the fix: keep sqrt away from 0
safe.backward()
print("safe =", safe.item(), " p.grad =", p.grad)
