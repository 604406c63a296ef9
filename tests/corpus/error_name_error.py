# A misspelt name after some real work: the trace keeps what ran before the error
# concepts: 1
import torch

weights = torch.tensor([1.0, 2.0], requires_grad=True)
loss = (weights * 3).sum()
loss.backward()
print(weights.grad)
print(weight.grad)
