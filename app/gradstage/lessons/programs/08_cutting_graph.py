# Cutting the graph: detach(), detach_(), torch.no_grad(), .data and requires_grad_(False)
import torch

w = torch.tensor(3.0, requires_grad=True)
a = w * 2               # recorded: a depends on w
b = (w * 2).detach()    # the same value, cut from the graph
with torch.no_grad():
    c = w * 2           # nothing inside no_grad() is recorded
d = w.data * 2          # .data is the bare value (an old way to cut; prefer detach())
e = w * 2
e.detach_()             # detach_() cuts e itself, in place
print("requires grad:", a.requires_grad, b.requires_grad, c.requires_grad,
      d.requires_grad, e.requires_grad)

loss = a * b + c + d + e
loss.backward()
print("w.grad =", w.grad.item())  # only the path through a counts: b · 2 = 12

net = torch.nn.Linear(2, 1)
net.weight.requires_grad_(False)  # freeze the weight: backward() no longer reaches it
out = net(torch.ones(1, 2)).sum()
out.backward()
print("weight.grad:", net.weight.grad, " bias.grad:", net.bias.grad)
