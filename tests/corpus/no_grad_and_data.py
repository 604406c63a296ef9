# torch.no_grad() and .data: values computed without building a graph
# concepts: 7
import torch

w = torch.tensor([2.0, -1.0], requires_grad=True)
with torch.no_grad():
    doubled = w * 2
print("inside no_grad:", doubled.requires_grad)
raw = w.data
scaled = raw * 10
print("through .data:", scaled.requires_grad, raw.requires_grad)
loss = (w * doubled).sum() + (w * scaled).sum()
loss.backward()
print("w.grad:", w.grad)
