# SGD with momentum: the step keeps a running velocity per parameter
# concepts: 3
import torch

w = torch.tensor([1.0, -2.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
for i in range(4):
    opt.zero_grad()
    loss = (w**2).sum()
    loss.backward()
    opt.step()
    print(i, w.detach().tolist(), opt.state[w]["momentum_buffer"].tolist())
