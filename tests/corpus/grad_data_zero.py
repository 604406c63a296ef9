# Zeroing a gradient through .data, as older tutorials do
# concepts: 2
import torch

w = torch.tensor([0.5, -1.0], requires_grad=True)
for step in range(3):
    loss = (w * torch.tensor([2.0, 3.0])).sum() ** 2
    loss.backward()
    print(step, w.grad.tolist())
    w.grad.data.zero_()
print("after the loop:", w.grad)
