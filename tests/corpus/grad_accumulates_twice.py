# Calling backward() twice without zeroing adds into .grad
# concepts: 2
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

y = (x**2).sum()
y.backward()
print("after first backward: ", x.grad)

y = (x**2).sum()
y.backward()
print("after second backward:", x.grad)

x.grad.zero_()
y = (x**2).sum()
y.backward()
print("after zero_ and backward:", x.grad)
