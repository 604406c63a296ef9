# y.backward(v) computes the vector-Jacobian product v^T J; the result scales with v
# concepts: 5
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x**2 + 2 * x
v = torch.tensor([1.0, 0.1, 0.01])
y.backward(v)
print("v^T J =", x.grad)

x.grad = None
y = x**2 + 2 * x
y.backward(10 * v)
print("with 10 v:", x.grad)
