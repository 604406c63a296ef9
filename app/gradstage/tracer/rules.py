"""How each autograd Node is drawn (a readable symbol) and which local rule explains it.

The page keeps the words of each rule (in both languages); the tracer names the rule.
"""

from __future__ import annotations

import re

# Node name without its numeric suffix -> (symbol drawn on the node, rule key).
_RULES: dict[str, tuple[str, str]] = {
    "Add": ("+", "add"),
    "Sub": ("−", "sub"),
    "Rsub": ("−", "rsub"),
    "Mul": ("×", "mul"),
    "Div": ("÷", "div"),
    "Pow": ("**", "pow"),
    "Neg": ("−x", "neg"),
    "Exp": ("exp", "exp"),
    "Log": ("log", "log"),
    "Sqrt": ("√", "sqrt"),
    "Abs": ("|x|", "abs"),
    "Sin": ("sin", "sin"),
    "Cos": ("cos", "cos"),
    "Tanh": ("tanh", "tanh"),
    "Sigmoid": ("σ", "sigmoid"),
    "Relu": ("relu", "relu"),
    "LeakyRelu": ("leaky", "leaky_relu"),
    "Gelu": ("gelu", "gelu"),
    "Softmax": ("softmax", "softmax"),
    "LogSoftmax": ("log_softmax", "log_softmax"),
    "Mean": ("mean", "mean"),
    "Sum": ("Σ", "sum"),
    "Prod": ("∏", "prod"),
    "Max": ("max", "max"),
    "Min": ("min", "min"),
    "Mm": ("@", "mm"),
    "Mv": ("@", "mv"),
    "Bmm": ("@", "bmm"),
    "Dot": ("·", "dot"),
    "Addmm": ("linear", "addmm"),
    "Linear": ("linear", "addmm"),
    "MseLoss": ("mse", "mse_loss"),
    "L1Loss": ("l1", "l1_loss"),
    "NllLoss": ("nll", "nll_loss"),
    "BinaryCrossEntropy": ("bce", "bce"),
    "BinaryCrossEntropyWithLogits": ("bce", "bce"),
    "Clamp": ("clamp", "clamp"),
    "ClampMin": ("clamp", "clamp"),
    "Norm": ("‖x‖", "norm"),
    "LinalgVectorNorm": ("‖x‖", "norm"),
    "Convolution": ("conv", "conv"),
    "NativeBatchNorm": ("bn", "batch_norm"),
    "MaxPool2DWithIndices": ("maxpool", "max_pool"),
    "AdaptiveAvgPool2D": ("avgpool", "avg_pool"),
    "View": ("view", "view"),
    "Reshape": ("reshape", "view"),
    "UnsafeView": ("view", "view"),
    "Select": ("[i]", "select"),
    "Slice": ("[a:b]", "slice"),
    "Index": ("[idx]", "index"),
    "Expand": ("expand", "expand"),
    "T": ("ᵀ", "transpose"),
    "Transpose": ("ᵀ", "transpose"),
    "Permute": ("permute", "transpose"),
    "Unsqueeze": ("unsqueeze", "view"),
    "Squeeze": ("squeeze", "view"),
    "Cat": ("cat", "cat"),
    "Stack": ("stack", "cat"),
    "Clone": ("clone", "identity"),
    "ToCopy": ("to", "identity"),
    "Alias": ("alias", "identity"),
    "Where": ("where", "where"),
}

VIEW_NODES = frozenset(
    {
        "View",
        "Reshape",
        "UnsafeView",
        "Select",
        "Slice",
        "Expand",
        "T",
        "Transpose",
        "Permute",
        "Unsqueeze",
        "Squeeze",
        "AsStrided",
        "Alias",
        "Diagonal",
        "Unfold",
        "Split",
        "SplitWithSizes",
        "Unbind",
    }
)

_SUFFIX = re.compile(r"Backward\d*$")


def base_name(node_name: str) -> str:
    """``MulBackward0`` -> ``Mul``."""
    return _SUFFIX.sub("", node_name)


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def op_name(node_name: str) -> str:
    """The forward op a Node name stands for: ``AddmmBackward0`` -> ``addmm``,
    ``MkldnnRnnLayerBackward0`` -> ``mkldnn_rnn_layer``."""
    return _CAMEL.sub("_", base_name(node_name)).lower() or node_name


def label_and_rule(node_name: str) -> tuple[str, str | None]:
    """The symbol to draw and the rule key for a Node name."""
    if node_name == "AccumulateGrad":
        return ".grad +=", "accumulate"
    if node_name == "CopySlices":
        return "[…] =", "copy_slices"
    base = base_name(node_name)
    if base in _RULES:
        return _RULES[base]
    return op_name(node_name), None
