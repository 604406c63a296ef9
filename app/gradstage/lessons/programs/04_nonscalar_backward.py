# Backward from a non-scalar: autograd computes vᵀJ, and you must say what v is
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x * x.sum()  # y_i = x_i · (x_1 + x_2 + x_3): every output depends on every input

v = torch.tensor([1.0, 1.0, 1.0])
y.backward(v, retain_graph=True)  # vᵀJ: the same as y.sum().backward()
print("v = [1, 1, 1] -> x.grad =", x.grad)

x.grad = None
y.backward(2 * v, retain_graph=True)  # twice the v, twice the gradient
print("v = [2, 2, 2] -> x.grad =", x.grad)

rows = []
for i in range(3):  # one-hot v picks one row of the Jacobian at a time
    x.grad = None
    y.backward(torch.eye(3)[i], retain_graph=True)
    rows.append(x.grad.clone())
jacobian = torch.stack(rows)
print("Jacobian dy/dx:")
print(jacobian)

y.backward()  # the mistake: y has three elements, so autograd cannot guess v
