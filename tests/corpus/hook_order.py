# The order in which hooks fire follows the order backward reaches the tensors
# concepts: 9
import torch

a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(3.0, requires_grad=True)
c = a * b
d = c + a
e = d * d
for name, t in (("a", a), ("b", b), ("c", c), ("d", d)):
    t.register_hook(lambda g, name=name: print(f"hook {name}: {g.item()}"))
e.backward()
print(a.grad.item(), b.grad.item())
