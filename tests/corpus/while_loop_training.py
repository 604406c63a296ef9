# Training until the loss is small enough, in a while loop
# concepts: 2, 3
import torch

w = torch.tensor(5.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
loss = (w - 1.0) ** 2
steps = 0
while loss.item() > 1e-3:
    opt.zero_grad()
    loss = (w - 1.0) ** 2
    loss.backward()
    opt.step()
    steps += 1
print("steps:", steps, "w:", round(w.item(), 4))
