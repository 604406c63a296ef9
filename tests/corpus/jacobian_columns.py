# A full Jacobian, one row at a time with one-hot v and retain_graph=True
# concepts: 5, 6
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = torch.stack([x[0] * x[1], x[0] ** 2, torch.sin(x[1])])
rows = []
for i in range(3):
    v = torch.zeros(3)
    v[i] = 1.0
    y.backward(v, retain_graph=True)
    rows.append(x.grad.clone())
    x.grad.zero_()
J = torch.stack(rows)
print(J)
by_hand = torch.tensor([[2.0, 1.0], [2.0, 0.0], [0.0, torch.cos(torch.tensor(2.0)).item()]])
print("equals the Jacobian by hand:", torch.allclose(J, by_hand))
