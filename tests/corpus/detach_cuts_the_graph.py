# detach() and detach_() cut the graph: nothing flows back through the cut
# concepts: 7
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 3
frozen = y.detach()
z = (y * frozen).sum()
z.backward()
print("x.grad:", x.grad)
print("frozen.requires_grad:", frozen.requires_grad)

u = x * 5
u.detach_()
print("u.requires_grad:", u.requires_grad, "u.is_leaf:", u.is_leaf)
