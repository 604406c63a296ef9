# Updating a leaf in place while autograd is recording raises
# concepts: 14, 2
import torch

w = torch.tensor([1.0, 2.0], requires_grad=True)
loss = (w**2).sum()
loss.backward()
print(w.grad)
w -= 0.1 * w.grad
