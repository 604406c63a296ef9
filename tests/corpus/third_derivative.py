# Higher-order gradients three deep: each create_graph=True grad is a new graph, not the last one
# concepts: 15
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x**4
(g,) = torch.autograd.grad(y, x, create_graph=True)  # 4·x³ = 32
(g2,) = torch.autograd.grad(g, x, create_graph=True)  # 12·x² = 48
(g3,) = torch.autograd.grad(g2, x)  # 24·x = 48
print("g:", g.item(), "g2:", g2.item(), "g3:", g3.item())
print("g2 has a graph:", g2.grad_fn is not None, "g3 has none:", g3.grad_fn is None)
