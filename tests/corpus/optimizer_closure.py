# step(closure): the closure's forward and backward are the program's own; LBFGS calls it many times
# concepts: 3
import torch

torch.manual_seed(0)
xs = torch.linspace(-1, 1, 12)
ys = 3 * xs**2 - xs + 0.5
params = torch.zeros(3, requires_grad=True)
opt = torch.optim.LBFGS([params], lr=1, max_iter=4, history_size=3)
calls = 0


def closure():
    global calls
    calls += 1
    opt.zero_grad()
    pred = params[0] * xs**2 + params[1] * xs + params[2]
    loss = ((pred - ys) ** 2).mean()
    loss.backward()
    return loss


first = opt.step(closure)
print(f"loss {first.item():.5f} after {calls} calls")
print(params)
