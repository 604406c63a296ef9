# Older tutorials update a weight by assigning .data: no graph is recorded for the update
# concepts: 7
import torch

w = torch.tensor([0.5, -0.5], requires_grad=True)
x = torch.tensor([1.0, 2.0])
for step in range(3):
    loss = (w * x).sum() ** 2
    loss.backward()
    w.data = w.data - 0.1 * w.grad.data
    w.grad.data.zero_()
print(w)
