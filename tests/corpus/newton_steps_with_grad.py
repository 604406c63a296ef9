# Newton's method with torch.autograd.grad(create_graph=True) in a loop: each call returns new values
# concepts: 15
import torch

x = torch.tensor(3.0, requires_grad=True)
for i in range(3):
    f = x**3 - 2 * x - 5
    (g,) = torch.autograd.grad(f, x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    with torch.no_grad():
        x -= g / h
    print(i, round(x.item(), 6))
print(g)
