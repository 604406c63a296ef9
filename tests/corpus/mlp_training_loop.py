# A two-layer MLP learning y = sin(x): 300 steps, printed every 100, the loss plotted
# concepts: 3, 10
import torch
import torch.nn as nn
import matplotlib.pyplot as plt


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


torch.manual_seed(0)
x = torch.linspace(-3, 3, 64).unsqueeze(1)
y = torch.sin(x)
model = MLP()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
losses = []
for epoch in range(300):
    y_pred = model(x)
    loss = nn.functional.mse_loss(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if epoch % 100 == 0:
        print(f"epoch {epoch:3d}  loss {loss.item():.6f}")
plt.plot(losses)
print("final loss:", round(losses[-1], 6))
