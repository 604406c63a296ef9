# Tied weights: the embedding and the output layer share one Parameter, so backward() adds
# what both uses send into its one .grad
# concepts: 2
import torch


class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10, 4)
        self.out = torch.nn.Linear(4, 10, bias=False)
        self.out.weight = self.emb.weight  # tied: one Parameter, used twice

    def forward(self, tokens):
        return self.out(torch.tanh(self.emb(tokens)))


model = TinyLM()
tokens = torch.tensor([1, 2, 3])
targets = torch.tensor([2, 3, 4])
loss = torch.nn.functional.cross_entropy(model(tokens), targets)
loss.backward()
print(model.out.weight is model.emb.weight, len(list(model.parameters())))
