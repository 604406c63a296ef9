"""PyTorch's transformer fast paths run under the tracer as they run plainly.

``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``, in eval
mode without gradients, take fused kernels (and, given a padding mask, nested tensors whose
padded positions come out as zeros) unless ``torch.overrides.has_torch_function`` says some
argument has a ``__torch_function__`` handler. The tracer's mode is one, though it changes
nothing a program computes: asked from those modules, the check leaves it out, so that the
program gets the numbers it gets plainly. (Elsewhere, ``torch.ops`` calls among them, the
check is left as it is: that is how the tracer sees those ops.)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import torch
import torch.overrides

_MODULES = frozenset({"torch.nn.modules.activation", "torch.nn.modules.transformer"})


@contextlib.contextmanager
def fast_paths_as_plain(mode: type) -> Iterator[None]:
    """For one run: the fast-path modules do not count a ``mode`` on top of the stack."""
    original = torch.overrides.has_torch_function

    def has_torch_function(args: Any) -> bool:
        caller = sys._getframe(1).f_globals.get("__name__")
        depth = torch._C._len_torch_function_stack()
        if (
            caller in _MODULES
            and depth
            and isinstance(torch._C._get_function_stack_at(depth - 1), mode)
        ):
            with torch.overrides._pop_mode_temporarily():
                return bool(original(args))
        return bool(original(args))

    torch.overrides.has_torch_function = has_torch_function
    try:
        yield
    finally:
        torch.overrides.has_torch_function = original
