"""The same program gives the same Trace, and tracing leaves nothing behind in the process.

"Nothing behind": no TorchFunctionMode still active, no global module or optimizer hooks, every
patched function put back (the very same object), stdout, warnings and ``matplotlib`` restored,
torch's global settings (random state, grad mode, default dtype, print options) as they were,
and no hook left on any autograd Node that outlives the run (it would keep the recorder alive).
"""

from __future__ import annotations

import gc
import re
import sys
import warnings
from typing import Any

import msgspec
import pytest
import torch
import torch.nn.modules.module as module_hooks
import torch.nn.utils
import torch.nn.utils.clip_grad
import torch.optim.optimizer as optimizer_hooks
from gradstage.schema import Trace, encode
from gradstage.tracer import trace_program
from gradstage.tracer import values as tracer_values
from gradstage.tracer.recorder import Recorder
from torch.overrides import _get_current_function_mode_stack

from tests.tracer.oracle import program

# Loops, modules, optimizers, clipping, hooks, a custom Function, an error inside backward.
PROGRAMS = [
    "mlp_training_loop",
    "clip_in_training",
    "tensor_hooks",
    "custom_function_relu",
    "inplace_copyslices",
    "gradient_penalty",
    "error_inplace_saved_tensor",
    # Parameters made with torch.empty and initialised in place; an LSTM's byte workspace.
    "sequence_layers_step",
]

# A program that changes every global setting it can reach, then fails in backward.
MEDDLER = """
import torch
import matplotlib.pyplot as plt
torch.manual_seed(123)
torch.set_printoptions(precision=1)
torch.set_default_dtype(torch.float64)
torch.autograd.set_detect_anomaly(True)
torch.set_num_threads(1)
x = torch.rand(3, requires_grad=True)
plt.plot([1, 2, 3])
print(x)
torch.set_grad_enabled(False)
y = x * 2
y.sum().backward()
"""


def without_timing(trace: Trace) -> bytes:
    """The encoded Trace, with the one field that measures time (not behaviour) set to zero."""
    return encode(
        msgspec.structs.replace(trace, meta=msgspec.structs.replace(trace.meta, duration_ms=0.0))
    )


def global_hooks() -> dict[str, int]:
    """How many global module and optimizer hooks are registered, by registry."""
    registries = {
        f"module.{name}": value
        for name, value in vars(module_hooks).items()
        if name.startswith("_global_") and isinstance(value, dict)
    }
    registries["optimizer.pre"] = optimizer_hooks._global_optimizer_pre_hooks
    registries["optimizer.post"] = optimizer_hooks._global_optimizer_post_hooks
    return {name: len(registry) for name, registry in registries.items()}


def patched_functions() -> dict[str, Any]:
    """The objects the tracer replaces while it runs (see tracer/training.py)."""
    return {
        "Function.apply": vars(torch.autograd.Function)["apply"],
        "Optimizer.zero_grad": vars(torch.optim.Optimizer)["zero_grad"],
        "Module.zero_grad": vars(torch.nn.Module)["zero_grad"],
        "clip_grad.clip_grad_norm_": torch.nn.utils.clip_grad.clip_grad_norm_,
        "utils.clip_grad_norm_": torch.nn.utils.clip_grad_norm_,
        "clip_grad.clip_grad_value_": torch.nn.utils.clip_grad.clip_grad_value_,
        "utils.clip_grad_value_": torch.nn.utils.clip_grad_value_,
        "sys.stdout": sys.stdout,
        "sys.stderr": sys.stderr,
        "warnings.showwarning": warnings.showwarning,
        "matplotlib": sys.modules.get("matplotlib"),
        "matplotlib.pyplot": sys.modules.get("matplotlib.pyplot"),
    }


def torch_settings() -> dict[str, Any]:
    """torch's global settings a program can change."""
    return {
        "rng": torch.get_rng_state(),
        "grad": torch.is_grad_enabled(),
        "anomaly": (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
        "dtype": torch.get_default_dtype(),
        "print": dict(vars(torch._tensor_str.PRINT_OPTS)),
        "threads": torch.get_num_threads(),
        "capture": tracer_values.CAPTURE,
        "warning filters": list(warnings.filters),
    }


def assert_same_settings(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert torch.equal(before.pop("rng"), after.pop("rng")), "the random state changed"
    assert after == before


def live_recorders() -> int:
    gc.collect()
    return sum(type(o) is Recorder for o in gc.get_objects())


@pytest.mark.parametrize("name", PROGRAMS)
def test_tracing_a_program_twice_gives_byte_identical_traces(name: str) -> None:
    source = program(name).source
    assert without_timing(trace_program(source)) == without_timing(trace_program(source))


def test_tracing_another_program_in_between_changes_nothing() -> None:
    first = without_timing(trace_program(program("sgd_momentum").source))
    trace_program(MEDDLER)
    trace_program(program("adam_step").source)
    assert without_timing(trace_program(program("sgd_momentum").source)) == first


@pytest.mark.parametrize("name", [*PROGRAMS, "meddler"])
def test_tracing_leaves_no_mode_hook_or_patch_behind(name: str) -> None:
    source = MEDDLER if name == "meddler" else program(name).source
    patched, settings = patched_functions(), torch_settings()
    trace_program(source)
    assert _get_current_function_mode_stack() == []
    assert not torch._C._is_torch_function_mode_enabled()
    assert set(global_hooks().values()) == {0}
    assert patched_functions() == patched
    assert_same_settings(settings, torch_settings())


def test_the_meddler_really_meddles_and_still_gets_its_own_settings() -> None:
    trace = trace_program(MEDDLER)
    one_decimal = r"tensor\(\[\d\.\d, \d\.\d, \d\.\d\], requires_grad=True\)\n"
    assert re.fullmatch(one_decimal, trace.stdout)  # float64 by default, one decimal
    assert next(t for t in trace.tensors if t.name == "x").dtype == "float64"
    assert trace.error is not None
    assert trace.error.type == "RuntimeError"


def test_no_hook_is_left_on_nodes_that_outlive_the_run() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (w * 3).sum()  # a graph made outside the program, kept alive after it
    before = live_recorders()
    trace = trace_program(
        "y.backward(retain_graph=True)\nprint(w.grad)\n", namespace={"w": w, "y": y}
    )
    assert trace.stdout == "tensor([3., 3.])\n"
    assert live_recorders() == before  # no hook on y's Nodes still refers to the recorder
    w.grad = None
    y.backward()
    assert w.grad is not None
    assert w.grad.tolist() == [3.0, 3.0]
