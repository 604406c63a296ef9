# Gradient clipping: clip_grad_norm_ scales all gradients down when their total norm is too big
import torch

w = torch.tensor([3.0, 4.0], requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
loss = 5 * (w ** 2).sum() + 120 * b  # w.grad = 10·w = [30, 40], b.grad = 120
loss.backward()
print("before:", w.grad, b.grad)

norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm=13.0)
print("total norm:", norm.item())  # √(30² + 40² + 120²) = 130
print("after: ", w.grad, b.grad)  # every gradient times 13 / 130: the direction is kept

norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm=100.0)
print("total norm:", norm.item(), "is under 100: nothing changes")
print("after: ", w.grad, b.grad)
