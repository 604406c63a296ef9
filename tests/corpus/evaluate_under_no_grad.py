# An evaluation pass through a model under torch.no_grad(): values, but no graph to backpropagate
# concepts: 7
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 1)
)
x = torch.randn(4, 2)
train_out = model(x)
model.eval()
with torch.no_grad():
    eval_out = model(x)
print(eval_out.requires_grad, eval_out.shape)
print(eval_out)
