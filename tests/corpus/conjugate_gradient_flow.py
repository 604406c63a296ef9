# A complex number and its conjugate both feed the loss: AddBackward0 sends one gradient to both,
# and ConjBackward0 sends on its conjugate (a lazy view of the same memory, its sign flipped)
# concepts: 1
import torch

z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
w = z * (2 + 1j)
loss = (w * 1j + w.conj()).abs().sum()
loss.backward()
print(z.grad)
