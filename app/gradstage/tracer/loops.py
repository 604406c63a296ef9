"""Mark the steps of the program's loops so the tracer knows where each one starts and ends.

The source is parsed and every ``for``/``while`` statement gets a call at the start of each step
and one when the loop is left, however it is left (a ``try``/``finally`` around it: ``break``,
``return`` and exceptions included). Line numbers are unchanged, so errors and events still
point at the program's own lines.

Every loop's steps share Node and tensor ids (the same op on the same line in each step is one
id), so a graph built in an inner loop is drawn once, like one built in an outer one. Only
*timeline* loops group events into iterations: the outermost loops at module level or directly
in a function of the module, as marked here with ``top=True``; the tracer uses the first of
them that runs, as long as it runs.
"""

from __future__ import annotations

import ast

ITER = "__gradstage_iteration__"
LOOP = "__gradstage_for__"
END = "__gradstage_loop_end__"


def _call(name: str, args: list[ast.expr], at: ast.AST) -> ast.Expr:
    stmt = ast.Expr(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]))
    return ast.copy_location(stmt, at)


def _mark_loop(stmt: ast.For | ast.While, top: bool) -> ast.stmt:
    line = ast.Constant(stmt.lineno)
    if isinstance(stmt, ast.For):
        # for x in ITERABLE -> for x in __gradstage_for__(line, ITERABLE, top): the wrapper
        # marks each step and knows how many there will be when ITERABLE has a length (range,
        # list, tensor), so the tracer can skip detail it will not keep.
        wrapped = ast.Call(
            func=ast.Name(id=LOOP, ctx=ast.Load()),
            args=[line, stmt.iter, ast.Constant(top)],
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


class _Marker(ast.NodeTransformer):
    """Marks every loop; ``top`` for those directly in the module or in a module function."""

    def __init__(self) -> None:
        self._top: set[int] = set()  # id() of the loops that may group the timeline

    def visit_Module(self, node: ast.Module) -> ast.Module:
        bodies: list[list[ast.stmt]] = [node.body]
        bodies += [
            s.body for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        self._top = {id(s) for body in bodies for s in body if isinstance(s, ast.For | ast.While)}
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
