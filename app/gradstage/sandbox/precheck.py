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
# The same in Simplified Chinese.
_IN_CHINESE = {
    "the operating system": "操作系统",
    "running other programs": "运行其他程序",
    "the network": "网络",
    "native code": "原生代码",
    "files": "文件",
    "starting processes": "启动进程",
    "threads": "线程",
    "signals": "信号",
    "importing by name": "按名字导入模块",
    "loading pickled objects": "加载 pickle 序列化的对象",
    "the interpreter's internals": "解释器内部",
    "reading and writing files": "读写文件",
    "running code from text": "把文本当作代码运行",
    "the debugger": "调试器",
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
                    explanation_zh=f"程序在沙箱中运行，不能使用{_IN_CHINESE[BLOCKED_MODULES[top]]}。"
                    "请使用 torch、math 和 random。",
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
                explanation_zh=f"程序在沙箱中运行：这里不能{_IN_CHINESE[what]}。",
            )
    return None
