"""A stand-in for ``matplotlib.pyplot``: ``plt.plot(losses)`` becomes a series in the Trace.

Tutorials plot the loss curve; the page draws it, so the program needs no matplotlib.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

PlotSink = Callable[[list[Any], list[Any] | None, str | None], None]


def _numbers(values: Any) -> list[Any]:
    """Turn a list, tuple, range or tensor of numbers into a flat Python list."""
    if hasattr(values, "detach") and hasattr(values, "tolist"):
        flat = values.detach().reshape(-1).tolist()
        return list(flat)
    out: list[Any] = []
    for v in values:
        if hasattr(v, "item"):
            out.append(v.item())
        else:
            out.append(float(v))
    return out


def make_modules(sink: PlotSink) -> dict[str, types.ModuleType]:
    """Modules to put in ``sys.modules`` as ``matplotlib`` and ``matplotlib.pyplot``."""
    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.__doc__ = (
        "gradstage's stand-in: plot() and scatter() record series; the rest is a no-op."
    )

    def plot(*args: Any, **kwargs: Any) -> list[Any]:
        arrays = [a for a in args if not isinstance(a, str)]
        label = kwargs.get("label")
        if len(arrays) == 1:
            sink(_numbers(arrays[0]), None, label)
        elif len(arrays) >= 2:
            sink(_numbers(arrays[1]), _numbers(arrays[0]), label)
        return []

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    def anything(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return nothing

    def subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        axes = types.SimpleNamespace(plot=plot, scatter=plot)
        axes.__dict__.update(
            dict.fromkeys(("set_xlabel", "set_ylabel", "set_title", "legend", "grid"), nothing)
        )
        return types.SimpleNamespace(savefig=nothing), axes

    pyplot.__dict__.update(
        plot=plot,
        scatter=plot,
        semilogy=plot,
        subplots=subplots,
        __getattr__=anything,
    )
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.__dict__.update(pyplot=pyplot, use=nothing, __getattr__=anything)
    return {"matplotlib": matplotlib, "matplotlib.pyplot": pyplot}
