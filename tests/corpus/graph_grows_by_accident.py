# total += loss keeps every iteration's graph alive; total += loss.item() does not
# concepts: 8
import torch

w = torch.tensor(1.0, requires_grad=True)
total = 0
for i in range(4):
    loss = (w * i - 1) ** 2
    total += loss
print("total:", total)
print("total is a tensor with a graph:", total.grad_fn is not None)
total.backward()
print("w.grad:", w.grad)

running = 0.0
for i in range(4):
    loss = (w * i - 1) ** 2
    running += loss.item()
print("running:", running, type(running).__name__)
