# Gradients accumulate: each backward() adds into .grad, so a training loop must empty it
import torch
import matplotlib.pyplot as plt
torch.manual_seed(0)
x = torch.rand(20, 1)
y = 2 * x + 1  # the line to learn: w = 2, b = 1
lr = 0.2
w, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
without_zero = []
for step in range(20):  # the mistake: .grad is never emptied
    loss = ((x * w + b - y) ** 2).mean()
    loss.backward()  # adds this step's gradient to w.grad and b.grad
    w.data.sub_(lr * w.grad)
    b.data.sub_(lr * b.grad)
    without_zero.append(loss.item())

w, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
with_zero = []
for step in range(20):  # the fix: the same loop, with .grad zeroed after each update
    loss = ((x * w + b - y) ** 2).mean()
    loss.backward()
    w.data.sub_(lr * w.grad)
    b.data.sub_(lr * b.grad)
    w.grad.zero_()
    b.grad.zero_()
    with_zero.append(loss.item())
print("without zero_():", [round(v, 2) for v in without_zero])
print("   with zero_():", [round(v, 2) for v in with_zero])
plt.plot(without_zero, label="without zero_()")
plt.plot(with_zero, label="with zero_()")
