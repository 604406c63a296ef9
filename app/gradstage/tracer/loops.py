"""Mark the iterations of top-level loops so the timeline can group (and bound) them.

The source is parsed and each outermost ``for``/``while`` (at module level or directly in a
function) gets a call at the start of its body and one after it. Line numbers are unchanged, so
errors and events still point at the program's own lines.
"""

from __future__ import annotations

import ast

ITER = "__gradstage_iteration__"
LOOP = "__gradstage_for__"
END = "__gradstage_loop_end__"


def _call(name: str, loop_line: int, at: ast.AST) -> ast.stmt:
    stmt = ast.Expr(
        ast.Call(
            func=ast.Name(id=name, ctx=ast.Load()), args=[ast.Constant(loop_line)], keywords=[]
        )
    )
    return ast.copy_location(stmt, at)


class _Marker(ast.NodeTransformer):
    def _mark_body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            if isinstance(stmt, ast.For):
                # for x in ITERABLE -> for x in __gradstage_for__(line, ITERABLE): the wrapper
                # marks each iteration and knows how many there will be when ITERABLE has a
                # length (range, list, tensor), so the tracer can skip detail it will not keep.
                wrapped = ast.Call(
                    func=ast.Name(id=LOOP, ctx=ast.Load()),
                    args=[ast.Constant(stmt.lineno), stmt.iter],
                    keywords=[],
                )
                stmt.iter = ast.copy_location(wrapped, stmt.iter)
                out.append(stmt)
                out.append(_call(END, stmt.lineno, stmt))
            elif isinstance(stmt, ast.While):
                stmt.body.insert(0, _call(ITER, stmt.lineno, stmt.body[0]))
                out.append(stmt)
                out.append(_call(END, stmt.lineno, stmt))
            elif isinstance(stmt, ast.FunctionDef):
                stmt.body = self._mark_body(stmt.body)
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = self._mark_body(node.body)
        return node


def instrument(tree: ast.Module) -> ast.Module:
    """Insert iteration markers into the outermost loops of a parsed program."""
    tree = _Marker().visit(tree)
    return ast.fix_missing_locations(tree)
