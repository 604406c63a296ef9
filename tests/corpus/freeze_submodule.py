# Freezing the first layer with requires_grad_(False): only the head learns
# concepts: 7, 10
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
for p in model[0].parameters():
    p.requires_grad_(False)
opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
x = torch.randn(6, 3)
labels = torch.tensor([0, 1, 1, 0, 1, 0])
before = model[0].weight.clone()
for step in range(3):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 5))
print("first layer grad:", model[0].weight.grad)
print("first layer unchanged:", torch.equal(before, model[0].weight))
print("head grad norm:", round(model[2].weight.grad.norm().item(), 5))
