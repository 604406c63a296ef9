# optimizer.zero_grad(), loss.backward(), optimizer.step() with plain SGD
# concepts: 3
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 3)
y = torch.randn(8, 1)
loss_fn = nn.MSELoss()

for step in range(3):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss={loss.item():.5f}")
print(model.weight)
print(model.bias)
