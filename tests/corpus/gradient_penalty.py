# The backward graph is itself a graph: backward() through a gradient (a gradient penalty)
# concepts: 15, 10
import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
x = torch.randn(4, 2, requires_grad=True)
out = net(x).sum()
(grad_x,) = torch.autograd.grad(out, x, create_graph=True)
penalty = (grad_x.norm(dim=1) - 1).pow(2).mean()
penalty.backward()
print("penalty:", round(penalty.item(), 6))
print("grad of first weight:", net[0].weight.grad)
print("x.grad is set too:", x.grad is not None)
