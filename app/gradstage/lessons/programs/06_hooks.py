# Hooks: look at a gradient, or replace it, while backward() is running
import torch

x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
h = x * 2
y = (h ** 2).sum()


def show(grad):
    print("1. gradient arriving at h:", grad)  # dy/dh = 2·h


def limit(grad):
    print("2. limit() replaces it")
    return grad.clamp(-5, 5)  # the returned tensor flows on instead


def show_x(grad):
    print("3. gradient arriving at x:", grad)


h.register_hook(show)  # hooks on one tensor fire in the order they were added
h.register_hook(limit)
x.register_hook(show_x)
y.backward()
print("x.grad =", x.grad)  # 2 · the limited gradient, not 2 · 2·h
