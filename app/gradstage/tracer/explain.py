"""Plain-language explanations of the classic autograd errors and warnings."""

from __future__ import annotations

import re

# (pattern in the message, explanation). First match wins.
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"grad can be implicitly created only for (real )?scalar outputs"),
        "backward() was called on a tensor with more than one element. Autograd computes a "
        "vector-Jacobian product v\u1d40J, and for a non-scalar output it cannot guess v: "
        "pass it explicitly, y.backward(v) with v shaped like y, or reduce y first "
        "(y.sum().backward()).",
    ),
    (
        re.compile(r"Trying to backward through the graph a second time"),
        "The first backward() freed the values this graph saved for computing gradients. "
        "Call the first backward(retain_graph=True) to keep them, or recompute the forward pass "
        "before calling backward() again.",
    ),
    (
        re.compile(r"element 0 of tensors does not require grad and does not have a grad_fn"),
        "backward() was called on a tensor that is not connected to any tensor that requires "
        "grad, so there is nothing to differentiate. Create the inputs with requires_grad=True, "
        "and check that nothing on the way detached the graph (detach(), .data, torch.no_grad(), "
        ".item(), numpy()).",
    ),
    (
        re.compile(r"modified by an inplace operation"),
        "A tensor that autograd saved for the backward pass was changed in place afterwards "
        "(its version counter moved on), so the saved value is no longer the one the forward "
        "pass used. Use an out-of-place op (x = x + 1 instead of x += 1) or clone() before "
        "modifying.",
    ),
    (
        re.compile(r"a leaf Variable that requires grad is being used in an in-place operation"),
        "A leaf that requires grad cannot be changed in place while autograd is recording, "
        "because the change itself would have to be differentiated. Update parameters inside "
        "`with torch.no_grad():` or through .data.",
    ),
    (
        re.compile(r"One of the differentiated Tensors appears to not have been used in the graph"),
        "torch.autograd.grad was asked for the gradient of an input that the output does not "
        "depend on. Pass allow_unused=True to get None for it.",
    ),
    (
        re.compile(r"Can't call numpy\(\) on Tensor that requires grad"),
        "A tensor that is part of the autograd graph cannot be turned into a NumPy array "
        "directly. Use t.detach().numpy() to cut it from the graph first.",
    ),
    (
        re.compile(r"Function '(\w+)' returned nan values in its (\d+)th output"),
        "Anomaly detection found a NaN produced during backward by the named Node.",
    ),
    (
        re.compile(
            r"mat1 and mat2 shapes cannot be multiplied|size of tensor a .* must match"
            r"|inconsistent tensor size|shape '\[.*\]' is invalid for input of size"
            r"|Sizes of tensors must match except in dimension"
        ),
        "The shapes of the tensors do not fit this operation. Check each tensor's shape "
        "(print(t.shape)) where it is created.",
    ),
    (
        re.compile(r"^index out of range in self$"),
        "An index is outside the table it selects from: this is how nn.Embedding(n, d) (and "
        "index_select) report an index of n or more, or a negative one. Make num_embeddings "
        "larger than the largest index (the size of the vocabulary), or check the indices.",
    ),
    (
        re.compile(r"index -?\d+ is out of bounds for dimension \d+ with size \d+"),
        "An index is past the end: a dimension of size n has the indices 0 to n-1 (and -n to "
        "-1 from the end).",
    ),
    (
        re.compile(r"Target -?\d+ is out of bounds"),
        "A class index among the targets is not one of the model's classes: cross_entropy "
        "with C output columns takes targets from 0 to C-1. Check the number of outputs of "
        "the last layer against the labels.",
    ),
    (
        re.compile(r"expected target dtype to be Long"),
        "cross_entropy takes the classes as integer indices (dtype torch.long): convert the "
        "targets with .long(). For a probability per class, pass a float tensor shaped like "
        "the output instead.",
    ),
    (
        re.compile(r"masked_fill_? only supports boolean masks"),
        "The mask must be a boolean tensor: make it with a comparison (x > 0, lengths == 0) "
        "or convert it with mask.bool().",
    ),
    (
        re.compile(r"input\.size\(-1\) must be equal to input_size"),
        "The last dimension of the input must be the layer's input_size (features per time "
        "step). nn.LSTM, nn.GRU and nn.RNN take (seq_len, batch, features), or (batch, "
        "seq_len, features) with batch_first=True.",
    ),
    (
        re.compile(r"`lengths` array must be sorted in decreasing order"),
        "pack_padded_sequence expects the sequences sorted longest first. Pass "
        "enforce_sorted=False and it sorts them for you (and gives the results back in your "
        "order).",
    ),
    (
        re.compile(r"embed_dim must be divisible by num_heads"),
        "Multi-head attention splits embed_dim evenly among its heads: choose a num_heads "
        "that divides embed_dim (for embed_dim=8: 1, 2, 4 or 8 heads).",
    ),
    (
        re.compile(r"the input matrix is singular|input is not invertible|singular U"),
        "The matrix is singular (its determinant is 0): it has no inverse, and the system has "
        "no unique solution. Look for rows that repeat or are all zeros; torch.linalg.lstsq "
        "or torch.linalg.pinv give a best solution anyway.",
    ),
    (
        re.compile(r"expected scalar type|expected .* dtype|found dtype|must have the same dtype"),
        "The tensors have different dtypes (for example float32 and float64 or int64). "
        "Convert one of them with .float() or .to(other.dtype).",
    ),
    (
        re.compile(r"a Tensor with \d+ elements cannot be converted to Scalar"),
        "item() (and float() or int()) turns a tensor of exactly one element into a Python "
        "number; this one has several. Reduce it first (t.sum().item(), t.mean().item()) or "
        "take all of them with t.tolist().",
    ),
    (
        re.compile(
            r"Torch not compiled with CUDA|no NVIDIA driver|No CUDA GPUs|not compiled with MPS"
        ),
        "There is no GPU here: programs run on the CPU. Leave out .cuda() and device='cuda', "
        "or write device = 'cuda' if torch.cuda.is_available() else 'cpu'.",
    ),
    (
        re.compile(
            r"'NoneType' object has no attribute '(zero_|data|item|norm|abs|add_|sub_|mul_"
            r"|div_|copy_|clone|detach|numpy|tolist|shape)'"
        ),
        "A value is None where a tensor was expected. Most often it is a .grad: it stays None "
        "until a backward() reaches its tensor, and zero_grad() sets it back to None. Check "
        "`if w.grad is not None:` first, or call optimizer.zero_grad().",
    ),
    (
        re.compile(
            r"only Tensors of floating point( and complex)? dtype can require gradients",
            re.IGNORECASE,
        ),
        "Only floating-point tensors can require grad: create it with a float dtype "
        "(torch.tensor([1.0, 2.0]) rather than torch.tensor([1, 2])).",
    ),
    (
        re.compile(r"grad_fn is not defined|does not require grad"),
        "This tensor is not part of an autograd graph, so it has no gradient to compute.",
    ),
]

_BY_TYPE: dict[str, str] = {
    "SyntaxError": "Python could not read the program: the line shown has a syntax mistake "
    "(a missing bracket, colon or quote is the usual cause).",
    "IndentationError": "The indentation of this line does not match the lines around it.",
    "TabError": "This line indents with tabs where the lines around it use spaces (or the "
    "other way round). Indent with spaces only.",
    "EOFError": "The program asked for keyboard input (input()), but programs here run "
    "without a keyboard. Write the value into the program instead.",
    "FileNotFoundError": "There are no files here: a program runs on its own, with no folder "
    "to read from or write to. Make the data in the program (torch.randn, torch.linspace, or "
    "a small tensor written out), and print results instead of saving them.",
    "NameError": "This name is used before it was given a value (or it is misspelt).",
    "ZeroDivisionError": "A plain Python number was divided by zero.",
    "ImportError": "This module is not available here.",
    "ModuleNotFoundError": "This module is not available here; gradstage programs can use "
    "torch, math, random and a stand-in for matplotlib.pyplot.",
    "MemoryError": "The program asked for more memory than it is allowed.",
    "RecursionError": "A function called itself too many times.",
    "KeyboardInterrupt": "The program stopped itself by raising KeyboardInterrupt (what "
    "pressing Ctrl-C raises).",
}

NON_LEAF_GRAD_WARNING = re.compile(r"\.grad attribute of a Tensor that is not a leaf")

NON_LEAF_GRAD_EXPLANATION = (
    "Only leaf tensors that require grad keep their gradient in .grad after backward(). This "
    "tensor was computed from others (it has a grad_fn), so its .grad is None. Call "
    "t.retain_grad() before backward() to keep it, or read the gradients of the leaves."
)

NAN_EXPLANATION = {
    "forward": "This operation produced NaN or inf from finite inputs. Values computed from "
    "it are NaN or inf too, unless something drops those elements (torch.where, a mask): "
    "even then, the backward pass goes through this operation and its gradient there can "
    "be NaN.",
    "backward": "This Node turned finite incoming gradients into NaN or inf: its local "
    "derivative is infinite or undefined here (for example sqrt'(0) = 1/(2\u221a0)).",
    "overflow": "The gradient arriving at this Node was already huge, and multiplying it by "
    "this Node's local derivative went past the largest number the dtype can hold: it "
    "overflowed to inf. The gradients are exploding (growing layer by layer or step by "
    "step): lower the learning rate, scale the inputs down, or clip the gradients "
    "(torch.nn.utils.clip_grad_norm_).",
}


def explain_error(type_name: str, message: str) -> str | None:
    """A plain explanation of an exception, or None when it is not a classic one."""
    for pattern, text in _ERRORS:
        if pattern.search(message):
            return text
    return _BY_TYPE.get(type_name)


COMPILE_WARNING = "torch.compile is not used here: the program runs eagerly"

COMPILE_EXPLANATION = (
    "gradstage runs the program operation by operation, as PyTorch does without "
    "torch.compile, so that it can show each one: the compiled version is skipped. The values "
    "and gradients are the same as compiled ones (up to rounding in the last digits)."
)


def explain_warning(message: str) -> str | None:
    """A plain explanation of a warning, or None."""
    if NON_LEAF_GRAD_WARNING.search(message):
        return NON_LEAF_GRAD_EXPLANATION
    if message.startswith(COMPILE_WARNING):
        return COMPILE_EXPLANATION
    return None
