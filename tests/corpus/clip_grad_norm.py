# clip_grad_norm_ scales all gradients down when their total norm is too large
# concepts: 12
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Linear(4, 2)
x = torch.randn(3, 4) * 10
loss = model(x).pow(2).sum()
loss.backward()
before = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
after = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
print(f"norm before {before.item():.4f} (reported {total.item():.4f}), after {after.item():.4f}")
print(model.bias.grad)
