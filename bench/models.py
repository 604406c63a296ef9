"""Programs the benchmarks trace, written out in full (no torchvision here)."""

LINEAR_REGRESSION = """
import torch
torch.manual_seed(0)
x = torch.rand(100, 1)
y = 3 * x + 2 + 0.1 * torch.randn(100, 1)
w = torch.randn(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1
losses = []
for i in range(1000):
    y_pred = x * w + b
    loss = ((y_pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
    losses.append(loss.item())
print(f"w={w.item():.3f} b={b.item():.3f}")
"""

MLP_STEP = """
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 784)
target = torch.randint(0, 10, (64,))
opt.zero_grad()
loss = nn.functional.cross_entropy(model(x), target)
loss.backward()
opt.step()
print(f"{loss.item():.4f}")
"""

RESNET18 = """
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))

class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        widths = [64, 128, 256, 512]
        layers, cin = [], 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers += [Block(cin, w, stride), Block(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

model = ResNet18()
x = torch.randn(1, 3, 64, 64)
loss = model(x).logsumexp(dim=1).mean()
loss.backward()
print(f"{loss.item():.4f}")
"""
