# Writing through detach(): a gradient halved in place, a hand-made moving average of a weight,
# and torch's own AveragedModel (which updates its copy the same way)
# concepts: 7
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)
net = torch.nn.Linear(2, 1)
avg = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9))
w = torch.randn(3, requires_grad=True)
ema = torch.zeros(3)
x = torch.randn(4, 2)
for step in range(3):
    loss = (w**2).sum() + net(x).pow(2).mean()
    loss.backward()
    w.grad.detach().mul_(0.5)
    with torch.no_grad():
        w -= 0.1 * w.grad
        for p in net.parameters():
            p -= 0.1 * p.grad
        ema.detach().mul_(0.9).add_(0.1 * w)
    avg.update_parameters(net)
    w.grad = None
    net.zero_grad()
print(w, ema)
print(avg.module.weight)
