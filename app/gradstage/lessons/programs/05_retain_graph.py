# retain_graph: backward() frees what the graph saved, unless you ask it to keep it
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3  # the power node saves x, to compute 3·x² later

y.backward(retain_graph=True)  # keep the saved values for another pass
print("after the 1st backward: x.grad =", x.grad.item())  # 3·2² = 12

y.backward()  # works, and this time the saved values are freed
print("after the 2nd backward: x.grad =", x.grad.item())  # 12 + 12: gradients add up

y.backward()  # the mistake: the graph behind y was freed by the call above
