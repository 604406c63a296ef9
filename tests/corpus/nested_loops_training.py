# Nested loops (epochs of mini-batches): every step of the inner loop builds the same graph
# concepts: 3, 10
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Linear(2, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(6, 2)
y = x @ torch.tensor([[1.0], [-1.0]])
for epoch in range(3):
    for start in range(0, 6, 2):
        opt.zero_grad()
        loss = ((model(x[start : start + 2]) - y[start : start + 2]) ** 2).mean()
        loss.backward()
        opt.step()
    print(epoch, round(loss.item(), 5))
