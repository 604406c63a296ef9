# log(0) = -inf in the forward pass, and x * log(x) at 0 is NaN
# concepts: 11
import torch

p = torch.tensor([0.0, 0.25, 0.75], requires_grad=True)
logp = torch.log(p)
print("log p:", logp)
entropy = -(p * logp).sum()
print("entropy:", entropy)
entropy.backward()
print("p.grad:", p.grad)
