# backward() on something that does not require grad: element 0 does not require grad
# concepts: 7
import torch

w = torch.tensor([1.0, 2.0], requires_grad=True)
with torch.no_grad():
    loss = (w * w).sum()
print("loss:", loss, loss.requires_grad)
loss.backward()
