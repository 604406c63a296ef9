# Linear regression that forgets to zero the gradients: the loss oscillates
# concepts: 2
import torch
import matplotlib.pyplot as plt

torch.manual_seed(0)
x = torch.rand(20, 1)
y = 2 * x + 3
w = torch.randn(1, 1, requires_grad=True)
b = torch.zeros(1, 1, requires_grad=True)
lr = 0.1
losses = []
for i in range(100):
    y_pred = x.mm(w) + b
    loss = 0.5 * (y_pred - y) ** 2
    loss = loss.sum()
    loss.backward()
    w.data.sub_(lr * w.grad.data)
    b.data.sub_(lr * b.grad.data)
    losses.append(loss.item())
    if i % 20 == 0:
        print(i, round(loss.item(), 4))
plt.plot(losses)
plt.show()
print("w =", w.item(), "b =", b.item())
