# Complex tensors: values and gradients have real and imaginary parts (conjugate Wirtinger calculus)
# concepts: 1
import torch

z = torch.tensor([1 + 2j, -3 + 0.5j, 0j], requires_grad=True)
w = torch.tensor([0.5 - 1j, 2 + 0j, 1j])
y = (z * w).abs()
loss = y[:2].sum()
loss.backward()
print("y", y)
print("z.grad", z.grad)
