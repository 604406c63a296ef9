# A Transformer encoder trained one step: nn.TransformerEncoder copies the layer it is given
# (the copy's parameters are the model's; the layer given is thrown away)
# concepts: 3
import torch
import torch.nn as nn

torch.manual_seed(0)
encoder = nn.TransformerEncoder(
    nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8, dropout=0.0),
    num_layers=1,
    enable_nested_tensor=False,
)
head = nn.Linear(4, 1)
opt = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.1)
x = torch.randn(3, 2, 4)
loss = head(encoder(x)).pow(2).mean()
opt.zero_grad()
loss.backward()
opt.step()
print(round(loss.item(), 5))
