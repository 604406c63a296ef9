# Two networks chained: one loss, one backward() fills the parameters of both
import torch
from torch import nn

torch.manual_seed(0)
encoder = nn.Linear(3, 2)
head = nn.Linear(2, 1)
print("parameters require grad:", [p.requires_grad for p in encoder.parameters()])

x = torch.randn(4, 3)
target = torch.randn(4, 1)
loss = ((head(encoder(x)) - target) ** 2).mean()
loss.backward()  # flows through head, then on into encoder
print("encoder.weight.grad:", encoder.weight.grad)
print("head.weight.grad:", head.weight.grad)

encoder.requires_grad_(False)  # freeze the encoder: only the head learns
encoder.zero_grad()
head.zero_grad()
loss = ((head(encoder(x)) - target) ** 2).mean()
loss.backward()  # stops at the encoder's output
print("encoder.weight.grad:", encoder.weight.grad)
print("head.weight.grad:", head.weight.grad)
