# Emptying .grad by setting it to None: the next backward starts from nothing
# concepts: 2
import torch

a = torch.tensor(3.0, requires_grad=True)
(a * a).backward()
print("grad:", a.grad)
a.grad = None
print("after a.grad = None:", a.grad)
(a * 4).backward()
print("grad:", a.grad)
(a * 4).backward()
print("accumulated:", a.grad)
