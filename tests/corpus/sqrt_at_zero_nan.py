# sqrt at 0: the forward value is fine, the backward gradient is inf (then NaN)
# concepts: 11
import torch

x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
r = torch.sqrt(x)
loss = (r * torch.tensor([0.0, 1.0, 1.0])).sum()
print("forward:", r)
loss.backward()
print("x.grad:", x.grad)
print("any nan:", torch.isnan(x.grad).any().item())
