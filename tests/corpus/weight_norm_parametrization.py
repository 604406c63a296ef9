# A parametrized weight: weight_norm computes layer.weight from two leaves (a norm g and a
# direction v) each time it is read; the computed weight is a non-leaf, g and v get the .grad
# concepts: 4
import torch
from torch.nn.utils.parametrizations import weight_norm

model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
weight_norm(model[0])  # model[0].weight is now computed: g * v / ||v||
x = torch.randn(5, 3)
y = torch.randn(5, 1)
loss = torch.nn.functional.mse_loss(model(x), y)
loss.backward()
g = model[0].parametrizations.weight.original0
v = model[0].parametrizations.weight.original1
print(g.grad.shape, v.grad.shape)
