"""A friendly look at the source before it runs, for clear messages.

This is not the security boundary (the sandbox is): it only turns the most common "not
available here" cases into a plain sentence at the right line before a worker is used.
"""

from __future__ import annotations

import ast

from gradstage.schema import TraceError

# Not here: ``sys`` (``sys.exit``, ``sys.stdout.flush``) and ``io`` (``torch.save`` into a
# ``BytesIO``) are common in tutorials and harmless inside the sandbox, which refuses files.
BLOCKED_MODULES = {
    "os": "the operating system",
    "subprocess": "running other programs",
    "socket": "the network",
    "ctypes": "native code",
    "shutil": "files",
    "pathlib": "files",
    "multiprocessing": "starting processes",
    "threading": "threads",
    "signal": "signals",
    "importlib": "importing by name",
    "urllib": "the network",
    "http": "the network",
    "requests": "the network",
    "pickle": "loading pickled objects",
    "tempfile": "files",
    "builtins": "the interpreter's internals",
}
_FILE_CALLS = {"open": "reading and writing files", "exec": "running code from text",
               "eval": "running code from text", "compile": "running code from text",
               "__import__": "importing by name", "breakpoint": "the debugger"}  # fmt: skip


def precheck(source: str) -> TraceError | None:
    """A clear error for what will certainly be refused, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # the tracer reports syntax errors at their line
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in BLOCKED_MODULES:
                return TraceError(
                    type="ForbiddenError",
                    message=f"imports of {top} are not available here",
                    line=getattr(node, "lineno", None),
                    explanation=f"Programs run in a sandbox without access to "
                    f"{BLOCKED_MODULES[top]}. Use torch, math and random.",
                    code="forbidden",
                )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FILE_CALLS
        ):
            what = _FILE_CALLS[node.func.id]
            return TraceError(
                type="ForbiddenError",
                message=f"{node.func.id}() is not available here",
                line=node.lineno,
                explanation=f"Programs run in a sandbox: {what} is not available here.",
                code="forbidden",
            )
    return None
