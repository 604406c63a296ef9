# Building graph by accident: total += loss keeps every step's graph alive
import torch

torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
data = torch.randn(4, 3)


def graph_size(node):  # how many autograd nodes can be reached from this one
    seen, todo = set(), [node]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(parent for parent, _ in node.next_functions)
    return len(seen)


total = 0
for x in data:
    loss = (x @ w) ** 2
    total += loss  # the mistake: total is a tensor that remembers every step
    print("total += loss        ->", graph_size(total.grad_fn), "nodes behind total")

total = 0.0
for x in data:
    loss = (x @ w) ** 2
    total += loss.item()  # the fix: a plain Python number, no graph
    print("total += loss.item() ->", type(total).__name__, round(total, 4))
