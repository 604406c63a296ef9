# Param groups: the body and the head of a model learn at different rates, the head without
# weight decay
# concepts: 3
import torch
import torch.nn as nn

torch.manual_seed(0)
body = nn.Linear(3, 4)
head = nn.Linear(4, 1)
opt = torch.optim.SGD(
    [
        {"params": body.parameters(), "lr": 0.05, "weight_decay": 0.01},
        {"params": head.parameters(), "lr": 0.2},
    ],
    momentum=0.5,
)
x = torch.randn(8, 3)
y = torch.randn(8, 1)
for step in range(3):
    opt.zero_grad()
    loss = nn.functional.mse_loss(head(torch.relu(body(x))), y)
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 4), [g["lr"] for g in opt.param_groups])
