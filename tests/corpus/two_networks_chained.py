# Two networks chained: one loss, one backward() fills both networks' parameters
# concepts: 10
import torch
import torch.nn as nn

torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
decoder = nn.Linear(3, 4)
x = torch.randn(2, 4)
code = encoder(x)
recon = decoder(code)
loss = ((recon - x) ** 2).mean()
loss.backward()
print("loss:", round(loss.item(), 6))
for name, p in list(encoder.named_parameters()) + list(decoder.named_parameters()):
    print(name, tuple(p.grad.shape), round(p.grad.abs().sum().item(), 6))
print("all require grad:", all(p.requires_grad for p in encoder.parameters()))
