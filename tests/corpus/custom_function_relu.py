# A custom ReLU with two inputs (x, slope) whose backward prints what it receives
# concepts: 13, 1
import torch


class LeakyClamp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x, slope)
        return torch.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad_out):
        x, slope = ctx.saved_tensors
        print("backward got", grad_out)
        grad_x = torch.where(x > 0, grad_out, grad_out * slope)
        grad_slope = (grad_out * torch.where(x > 0, torch.zeros_like(x), x)).sum()
        return grad_x, grad_slope


x = torch.tensor([-2.0, -0.5, 1.0, 3.0], requires_grad=True)
slope = torch.tensor(0.1, requires_grad=True)
out = LeakyClamp.apply(x, slope)
loss = (out * torch.arange(1.0, 5.0)).sum()
loss.backward()
print(out)
print(x.grad, slope.grad)
