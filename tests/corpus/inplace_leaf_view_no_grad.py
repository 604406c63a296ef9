# A leaf changed in place through a view, under no_grad: w[0].add_, w.diagonal().fill_, weight[:, 0].zero_()
# concepts: 7, 14
import torch
import torch.nn as nn

torch.manual_seed(0)
w = torch.zeros(3, 3, requires_grad=True)
with torch.no_grad():
    w[0].add_(1.0)
    w.diagonal().fill_(5.0)
    w[2] = 2.0
lin = nn.Linear(3, 2)
with torch.no_grad():
    lin.weight[:, 0].zero_()
loss = lin(w).sum()
loss.backward()
print(w)
print(w.grad)
print(lin.weight.grad)
