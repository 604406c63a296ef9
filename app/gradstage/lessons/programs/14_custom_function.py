# A custom autograd.Function: your own forward and backward, one node in the graph
import torch


class RoundThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # kept for backward, like a built-in node's saved tensors
        return x.round()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        print("RoundThrough.backward got", grad_output)
        return grad_output * (x.abs() <= 2)  # pass the gradient through, inside [-2, 2] only


x = torch.tensor([-3.0, 0.4, 1.6], requires_grad=True)
scale = torch.tensor([1.0, 2.0, 3.0])
y = RoundThrough.apply(x)
(y * scale).sum().backward()
print("y =", y, " x.grad =", x.grad)

x.grad = None
(torch.round(x) * scale).sum().backward()
print("built-in round: x.grad =", x.grad)  # round is flat almost everywhere: zeros
