# Changing in place a tensor that backward needs: "modified by an inplace operation"
# concepts: 14
import torch

x = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
y = x.exp()
z = y.sum()
y.add_(1)
print("y after add_:", y)
z.backward()
