# The same regression with w.grad.zero_(): the loss converges (1,000 iterations)
# concepts: 2
import torch
import matplotlib.pyplot as plt

torch.manual_seed(0)
x = torch.rand(20, 1)
y = 2 * x + 3
w = torch.randn(1, 1, requires_grad=True)
b = torch.zeros(1, 1, requires_grad=True)
lr = 0.05
losses = []
for i in range(1000):
    y_pred = x.mm(w) + b
    loss = (0.5 * (y_pred - y) ** 2).sum()
    loss.backward()
    w.data.sub_(lr * w.grad.data)
    b.data.sub_(lr * b.grad.data)
    w.grad.zero_()
    b.grad.zero_()
    losses.append(loss.item())
    if i % 250 == 0:
        print(f"iter {i}: loss {loss.item():.6f}")
plt.plot(losses)
plt.xlabel("iteration")
print("w = %.4f, b = %.4f" % (w.item(), b.item()))
