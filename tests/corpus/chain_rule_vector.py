# The chain rule through a few vector ops: exp, multiply, sin, sum
# concepts: 1
import torch

x = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
a = torch.exp(x)
b = a * x
c = torch.sin(b)
out = c.sum()
out.backward()

print("out:", out)
print("x.grad:", x.grad)
# by hand: d/dx sin(x e^x) = cos(x e^x) * (e^x + x e^x)
manual = torch.cos(x.detach() * x.detach().exp()) * (x.detach().exp() * (1 + x.detach()))
print("matches by hand:", torch.allclose(x.grad, manual))
