# SGD and Adam on the same model and data: two loss curves
# concepts: 3
import copy
import torch
import torch.nn as nn
import matplotlib.pyplot as plt

torch.manual_seed(0)
x = torch.randn(32, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
base = nn.Linear(4, 1)
sgd_model = copy.deepcopy(base)
adam_model = copy.deepcopy(base)
sgd = torch.optim.SGD(sgd_model.parameters(), lr=0.05)
adam = torch.optim.Adam(adam_model.parameters(), lr=0.05)
sgd_losses, adam_losses = [], []
for epoch in range(150):
    for model, opt, losses in ((sgd_model, sgd, sgd_losses), (adam_model, adam, adam_losses)):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
plt.plot(sgd_losses, label="SGD")
plt.plot(adam_losses, label="Adam")
plt.legend()
print(f"SGD final {sgd_losses[-1]:.5f}, Adam final {adam_losses[-1]:.5f}")
