# A tensor passed to the program's own function keeps the name its caller gave it
# concepts: 8
import torch

w = torch.tensor([1.0, -2.0], requires_grad=True)
total = (w * 3).sum()


def graph_size(t):
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            todo.extend(parent for parent, _ in fn.next_functions)
    return len(seen)


def doubled(t):
    return t * 2


print("nodes behind total:", graph_size(total))
bigger = doubled(total)
bigger.backward()
print("w.grad:", w.grad.tolist())
