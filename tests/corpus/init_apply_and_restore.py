# nn.init through net.apply, a step of training, then load_state_dict puts the best weights back
# concepts: 3
import copy

import torch
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


torch.manual_seed(0)
net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
net.apply(init_weights)
best = copy.deepcopy(net.state_dict())
optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
x = torch.randn(8, 3)
y = x.sum(dim=1, keepdim=True)
loss = ((net(x) - y) ** 2).mean()
loss.backward()
optimizer.step()
print("after the step:", net[2].bias)
net.load_state_dict(best)  # the step made it worse: restore
print("restored:", net[2].bias)
