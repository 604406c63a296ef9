# Higher-order gradients: torch.autograd.grad with create_graph=True, twice
# concepts: 15
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x**3
(dy_dx,) = torch.autograd.grad(y, x, create_graph=True)
print("dy/dx:", dy_dx.item(), "requires_grad:", dy_dx.requires_grad)
(d2y_dx2,) = torch.autograd.grad(dy_dx, x)
print("d2y/dx2:", d2y_dx2.item())
