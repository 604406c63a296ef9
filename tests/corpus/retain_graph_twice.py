# With retain_graph=True a second backward through the same graph works
# concepts: 6, 2
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x**3
y.backward(retain_graph=True)
print("first:", x.grad)
y.backward()
print("second (accumulated):", x.grad)
