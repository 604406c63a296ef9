# A small sequence model, one Adam step: embedding, LSTM, attention and normalisation layers
# (LayerNorm, BatchNorm1d) whose parameters are made and initialised inside their modules
# concepts: 3
import torch
import torch.nn as nn

torch.manual_seed(0)
embed = nn.Embedding(10, 4)
lstm = nn.LSTM(4, 4, batch_first=True)
attn = nn.MultiheadAttention(4, 2, batch_first=True)
norm = nn.LayerNorm(4)
bn = nn.BatchNorm1d(4)
head = nn.Linear(4, 1)
params = [p for m in (embed, lstm, attn, norm, bn, head) for p in m.parameters()]
opt = torch.optim.Adam(params, lr=0.01)
tokens = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
target = torch.tensor([[0.5], [-0.5]])
h, _ = lstm(embed(tokens))
a, _ = attn(h, h, h)
z = norm(h + a).mean(dim=1)
pred = head(bn(z))
loss = ((pred - target) ** 2).mean()
opt.zero_grad()
loss.backward()
opt.step()
print(round(loss.item(), 5))
