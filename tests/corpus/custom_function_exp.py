# A custom torch.autograd.Function: its forward and backward are one node
# concepts: 13
import torch


class MyExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
y = MyExp.apply(x)
loss = (y * 2).sum()
loss.backward()
print("y:", y)
print("x.grad:", x.grad)
print(type(y.grad_fn).__name__)
