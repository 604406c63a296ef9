"""Mark the steps of the program's loops so the tracer knows where each one starts and ends.

The source is parsed and every ``for``/``while`` statement gets a call at the start of each step
and one when the loop is left, however it is left (a ``try``/``finally`` around it: ``break``,
``return`` and exceptions included). Line numbers are unchanged, so errors and events still
point at the program's own lines.

Every loop's steps share Node and tensor ids (the same op on the same line in each step is one
id), so a graph built in an inner loop is drawn once, like one built in an outer one. Only
*timeline* loops group events into iterations: the outermost loops of the module and of its
functions, also inside ``if``/``with``/``try`` (a training loop under
``if __name__ == "__main__":`` or ``with torch.autograd.detect_anomaly():``), as marked here
with ``top=True``; the tracer uses the first of them that runs, as long as it runs.
"""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

ITER = "__gradstage_iteration__"
LOOP = "__gradstage_for__"
END = "__gradstage_loop_end__"
SIZED = "__gradstage_sized__"

# Calls whose result has no length though their arguments do: ``enumerate(batches)``,
# ``zip(xs, ys)``, as a loop's iterable (directly, or one inside the other).
_SIZED_CALLS = frozenset({"enumerate", "zip"})


class _Sized:
    """An ``enumerate`` or ``zip`` that knows how many items it will give."""

    def __init__(self, items: Iterable[Any], hint: int) -> None:
        self._items = items
        self._hint = hint

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __length_hint__(self) -> int:
        return self._hint


def sized(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, told its length when ``fn`` is the built-in ``enumerate`` or
    ``zip`` and the lengths of what it goes through are known (so that the tracer knows which
    steps of a loop over it are the last ones)."""
    items = fn(*args, **kwargs)
    if fn is builtins.enumerate and args:
        hint = operator.length_hint(args[0], -1)
    elif fn is builtins.zip and args:
        hints = [operator.length_hint(a, -1) for a in args]
        hint = -1 if min(hints) < 0 else min(hints)
    else:
        return items
    return items if hint < 0 else _Sized(items, hint)


def _sized_iterable(node: ast.expr) -> ast.expr:
    """``enumerate(...)`` / ``zip(...)`` (and such calls among their arguments) made through
    ``sized``: the arguments are evaluated once, in the same order."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _SIZED_CALLS
    ):
        return node
    args = [_sized_iterable(a) for a in node.args]
    call = ast.Call(
        func=ast.Name(id=SIZED, ctx=ast.Load()), args=[node.func, *args], keywords=node.keywords
    )
    return ast.copy_location(call, node)


def _call(name: str, args: list[ast.expr], at: ast.AST) -> ast.Expr:
    stmt = ast.Expr(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]))
    return ast.copy_location(stmt, at)


def _mark_loop(stmt: ast.For | ast.While, top: bool) -> ast.stmt:
    line = ast.Constant(stmt.lineno)
    if isinstance(stmt, ast.For):
        # for x in ITERABLE -> for x in __gradstage_for__(line, ITERABLE, top): the wrapper
        # marks each step and knows how many there will be when ITERABLE has a length (range,
        # list, tensor), so the tracer can skip detail it will not keep.
        # A loop that may stop early (break, return) has no known count: its last steps are
        # the ones it really ran, so none can be skipped in advance.
        # enumerate() and zip() are told the lengths of their arguments (see ``sized``).
        iterable = _sized_iterable(stmt.iter)
        wrapped = ast.Call(
            func=ast.Name(id=LOOP, ctx=ast.Load()),
            args=[line, iterable, ast.Constant(top), ast.Constant(_may_stop_early(stmt))],
            keywords=[],
        )
        stmt.iter = ast.copy_location(wrapped, stmt.iter)
    else:
        first = stmt.body[0]
        stmt.body.insert(0, _call(ITER, [line, ast.Constant(None), ast.Constant(top)], first))
    guarded = ast.Try(
        body=[stmt],
        handlers=[],
        orelse=[],
        finalbody=[_call(END, [ast.Constant(stmt.lineno)], stmt)],
    )
    return ast.copy_location(guarded, stmt)


def _may_stop_early(loop: ast.For | ast.While) -> bool:
    """True when the loop's body has a ``break`` of its own or a ``return``."""

    def leaves(nodes: Iterable[ast.AST], own: bool) -> bool:
        for node in nodes:
            if isinstance(node, ast.Return) or (own and isinstance(node, ast.Break)):
                return True
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                continue  # their returns are their own
            if isinstance(node, ast.For | ast.AsyncFor | ast.While):
                # A break in an inner loop's body ends that loop; one in its else clause, this.
                if leaves(node.body, False) or leaves(node.orelse, own):
                    return True
                continue
            if leaves(ast.iter_child_nodes(node), own):
                return True
        return False

    return leaves(loop.body, True)


def _outermost_loops(body: list[ast.stmt], found: set[int]) -> None:
    """The loops of ``body`` not inside another loop, through ``if``/``with``/``try``/``match``
    and into the module's functions (not into classes: a module's ``forward`` that loops over
    its layers is not a training loop)."""
    for stmt in body:
        if isinstance(stmt, ast.For | ast.While):
            found.add(id(stmt))
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            _outermost_loops(stmt.body, found)
        elif isinstance(stmt, ast.If):
            _outermost_loops(stmt.body, found)
            _outermost_loops(stmt.orelse, found)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            _outermost_loops(stmt.body, found)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            for part in (stmt.body, stmt.orelse, stmt.finalbody):
                _outermost_loops(part, found)
            for handler in stmt.handlers:
                _outermost_loops(handler.body, found)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                _outermost_loops(case.body, found)


class _Marker(ast.NodeTransformer):
    """Marks every loop; ``top`` for the outermost ones (see ``_outermost_loops``)."""

    def __init__(self) -> None:
        self._top: set[int] = set()  # id() of the loops that may group the timeline

    def visit_Module(self, node: ast.Module) -> ast.Module:
        _outermost_loops(node.body, self._top)
        self.generic_visit(node)
        return node

    def _loop(self, node: ast.For | ast.While) -> ast.stmt:
        top = id(node) in self._top
        self.generic_visit(node)  # loops inside it first
        return _mark_loop(node, top)

    def visit_For(self, node: ast.For) -> ast.stmt:
        return self._loop(node)

    def visit_While(self, node: ast.While) -> ast.stmt:
        return self._loop(node)


def instrument(tree: ast.Module) -> ast.Module:
    """Insert step markers into every loop of a parsed program."""
    tree = _Marker().visit(tree)
    return ast.fix_missing_locations(tree)
