# clip_grad_value_ clamps every gradient element into [-clip_value, clip_value], one by one
# concepts: 12
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Linear(3, 2)
x = torch.randn(4, 3) * 5
loss = model(x).pow(2).mean()
loss.backward()
print(model.weight.grad)
nn.utils.clip_grad_value_(model.parameters(), 0.5)
print(model.weight.grad)
print(model.bias.grad)
