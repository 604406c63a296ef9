# A step whose closure raises: the program catches it, and what it does next is still recorded
# concepts: 1, 3
import torch

w = torch.tensor([1.0, 2.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)


def broken():
    raise ValueError("no loss here")


try:
    opt.step(broken)
except ValueError as e:
    print("caught:", e)
loss = (w**2).sum()
loss.backward()
opt.step()
print(w.grad, w)
