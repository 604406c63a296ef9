# A second backward() through a freed graph raises
# concepts: 6
import torch

x = torch.tensor(3.0, requires_grad=True)
y = x.exp() * x
y.backward()
print("first backward ok:", x.grad)
y.backward()
