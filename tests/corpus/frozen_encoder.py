# A frozen encoder (requires_grad_(False)): its output is a constant and the head alone learns
# concepts: 7, 10
import torch
import torch.nn as nn

torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
head = nn.Linear(4, 1)
encoder.requires_grad_(False)
x = torch.randn(5, 3)
code = encoder(x)
out = head(code)
loss = (out**2).mean()
loss.backward()
print("code requires grad:", code.requires_grad)
print("encoder grad:", encoder[0].weight.grad)
print("head grad:", [round(v, 5) for v in head.weight.grad.flatten().tolist()])
