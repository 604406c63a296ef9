# Higher-order gradients: with create_graph=True the backward pass is itself a graph
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3

(g,) = torch.autograd.grad(y, x, create_graph=True)  # g = 3·x² = 12, with a graph behind it
print("dy/dx   =", g.item(), " requires_grad:", g.requires_grad)
(g2,) = torch.autograd.grad(g, x, create_graph=True)  # differentiate the gradient: 6·x
print("d²y/dx² =", g2.item())
(g3,) = torch.autograd.grad(g2, x)  # 6, a constant: no graph needed any more
print("d³y/dx³ =", g3.item(), " requires_grad:", g3.requires_grad)

loss = y + g ** 2  # a gradient penalty: x³ + (3·x²)² = x³ + 9·x⁴
loss.backward()
print("x.grad =", x.grad.item())  # 3·x² + 36·x³ = 12 + 288
