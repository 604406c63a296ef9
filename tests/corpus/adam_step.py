# Adam keeps two running averages (exp_avg, exp_avg_sq) and a step count
# concepts: 3
import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
opt = torch.optim.Adam(net.parameters(), lr=0.01)
x = torch.randn(5, 2)
target = torch.randn(5, 1)
for step in range(3):
    opt.zero_grad()
    loss = ((net(x) - target) ** 2).mean()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 6))
state = opt.state[net[0].weight]
print("step:", state["step"].item())
print("exp_avg:", state["exp_avg"])
