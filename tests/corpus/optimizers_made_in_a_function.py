# Optimizers made in a function called several times: each one is named after its variable
# concepts: 3
import torch

x = torch.tensor([1.0, 2.0, 3.0])
y = 2 * x
made = []  # keeps every optimizer alive: none may be mistaken for an earlier one


def fit(make_optimizer, steps=2):
    w = torch.zeros(1, requires_grad=True)
    optimizer = make_optimizer([w])
    made.append(optimizer)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return w


w_sgd = fit(lambda params: torch.optim.SGD(params, lr=0.05))
w_adam = fit(lambda params: torch.optim.Adam(params, lr=0.5))
print(round(w_sgd.item(), 5), round(w_adam.item(), 5))
