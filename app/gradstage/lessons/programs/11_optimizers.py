# optimizer.zero_grad() and optimizer.step(): SGD, momentum and Adam on the same problem
import torch

x = torch.tensor([1.0, 2.0, 3.0])
y = 2 * x  # the best w is 2


def fit(name, optimizer_class, **options):
    w = torch.zeros(1, requires_grad=True)
    optimizer = optimizer_class([w], **options)
    for step in range(3):
        optimizer.zero_grad()  # empty w.grad, or the gradients of all steps add up
        loss = ((w * x - y) ** 2).mean()
        loss.backward()  # w.grad = dloss/dw
        optimizer.step()  # SGD: w = w - lr · w.grad; Adam scales the step by its state
        print(f"{name:8} step {step}: grad {w.grad.item():8.3f}  w -> {w.item():.3f}")


fit("SGD", torch.optim.SGD, lr=0.05)
fit("momentum", torch.optim.SGD, lr=0.05, momentum=0.9)
fit("Adam", torch.optim.Adam, lr=0.5)
