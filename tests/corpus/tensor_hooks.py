# register_hook: see a gradient in flight, or change it
# concepts: 9
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x * 2
z = y.sum()


def show(grad):
    print("gradient arriving at y:", grad)


def double(grad):
    return grad * 2


y.register_hook(show)
y.register_hook(double)
x.register_hook(lambda g: print("gradient arriving at x:", g))
z.backward()
print("x.grad:", x.grad)
