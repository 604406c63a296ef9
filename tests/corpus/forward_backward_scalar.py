# Forward and backward on a small expression: z = x * w + b, loss = (z - y) ** 2
# concepts: 1
import torch

x = torch.tensor(2.0)
y = torch.tensor(10.0)
w = torch.tensor(3.0, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)

z = x * w + b
loss = (z - y) ** 2
print("z =", z.item(), " loss =", loss.item())

loss.backward()
print("dloss/dw =", w.grad.item())
print("dloss/db =", b.grad.item())
