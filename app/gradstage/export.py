"""Self-contained players: one HTML file with the Trace, script, worker and styles inlined.

The file plays from ``file://`` or any static host with no server and no network, so a course
can serve every lesson as plain files. Its shape mirrors ``standaloneHtml()`` in
``static/src/downloads.ts`` (the page's own "Download player" button): the same boot JSON
(``api: null``: the page plays the embedded Trace, Run hidden, editor read-only) and the layout
worker as text in ``<script type="text/plain" id="gradstage-worker">``.

``gradstage export`` traces the program in this process, without the sandbox: use it for your
own programs (trusted local code), never for code from strangers.
"""

from __future__ import annotations

import base64
import html
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec

from gradstage.lessons import Lesson
from gradstage.paths import static_dir
from gradstage.schema import Trace

ASSETS = ("app.js", "layout.worker.js", "app.css")

# Fragment options the page reads (store.ts ``readHash``) that an export may set as defaults.
FRAGMENT_OPTIONS = ("autoplay", "speed", "step", "view", "theme", "lang", "editor", "node")

_SOURCE_MAP = re.compile(r"\n?(//# sourceMappingURL=\S+|/\*# sourceMappingURL=\S+ \*/)\s*$")


class FrontEndMissing(RuntimeError):
    """The built front end (static/dist) is not there: nothing to inline."""


@dataclass(frozen=True, slots=True)
class Assets:
    """The built page script, layout worker and stylesheet, as text."""

    script: str
    worker: str
    css: str
    favicon: str | None


def read_assets(folder: Path | None = None) -> Assets:
    """Read the built front end; raises FrontEndMissing with what to run when it is absent."""
    folder = folder or static_dir()
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise FrontEndMissing(
            f"the built front end is missing ({', '.join(missing)} not in {folder}); "
            "build it with `make setup` (or `npm ci && npm run build`) in the gradstage checkout"
        )
    text = {name: _SOURCE_MAP.sub("", (folder / name).read_text("utf-8")) for name in ASSETS}
    icon = folder / "favicon.svg"
    favicon = None
    if icon.is_file():
        favicon = "data:image/svg+xml;base64," + base64.b64encode(icon.read_bytes()).decode()
    return Assets(text["app.js"], text["layout.worker.js"], text["app.css"], favicon)


def inline_script(text: str) -> str:
    """Script text safe inside <script>: "</script" would end it, "<!--" opens a comment state."""
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    return text.replace("<!--", "<\\!--")


def inline_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no "<", ">" or "&" characters."""
    text = msgspec.json.encode(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fragment(options: Mapping[str, Any]) -> str:
    """The URL fragment for view options (``autoplay=True`` -> ``autoplay=1``)."""
    unknown = sorted(set(options) - set(FRAGMENT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown view option(s) {unknown}; known: {list(FRAGMENT_OPTIONS)}")
    pairs = []
    for key in FRAGMENT_OPTIONS:
        value = options.get(key)
        if value is None or value is False:
            continue
        pairs.append((key, "1" if value is True else str(value)))
    return urlencode(pairs)


def standalone_html(
    trace: Trace | Mapping[str, Any],
    *,
    source: str,
    title: str,
    lesson: Lesson | None = None,
    page: str = "app",
    options: Mapping[str, Any] | None = None,
    assets: Assets | None = None,
) -> str:
    """One HTML document that replays ``trace`` with no server and no network.

    ``page``: ``app`` (the full player) or ``embed`` (chrome-free). ``options``: view defaults
    written into the URL fragment before the page starts (``autoplay``, ``view``, ``lang``,
    ``editor`` ...), used only when the address has no fragment of its own.
    """
    if page not in ("app", "embed"):
        raise ValueError(f"page must be 'app' or 'embed', not {page!r}")
    assets = assets or read_assets()
    boot: dict[str, Any] = {
        "page": page,
        "api": None,
        "trace": trace,
        "lesson": lesson,
        "lessons": [],
        "groups": {},
        "source": source,
    }
    head = [
        "<!doctype html>",
        f'<html lang="en" data-page="{page}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="gradstage">',
        f"<title>{html.escape(title)} — gradstage</title>",
    ]
    if assets.favicon:
        head.append(f'<link rel="icon" href="{assets.favicon}">')
    css = re.sub(r"</(style)", r"<\\/\1", assets.css, flags=re.IGNORECASE)
    head += [
        f"<style>{css}</style>",
        f'<script type="application/json" id="gradstage-boot">{inline_json(boot)}</script>',
    ]
    hash_text = fragment(options or {})
    if hash_text:
        # Runs before the module: the page reads its view options from location.hash.
        head.append(
            "<script>if(!location.hash)try{history.replaceState(null,'',"
            f"{inline_json('#' + hash_text)})}}catch(e){{}}</script>"
        )
    head += [
        f'<script type="text/plain" id="gradstage-worker">{inline_script(assets.worker)}</script>',
        f'<script type="module">{inline_script(assets.script)}</script>',
        "</head>",
        f'<body><div id="app" class="app app--{page}">'
        '<p class="boot-message">gradstage is loading… If nothing happens, JavaScript may be '
        "turned off.</p></div></body>",
        "</html>",
        "",
    ]
    return "\n".join(head)


# ---------------------------------------------------------------- the command


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return len(data)


def export_program(program: Path, output: Path, *, assets: Assets | None = None) -> Trace:
    """Trace ``program`` in this process (trusted local code) and write its player to ``output``."""
    from gradstage.tracer import trace_program

    source = program.read_text("utf-8")
    trace = trace_program(source)
    _write(output, standalone_html(trace, source=source, title=program.stem, assets=assets))
    return trace


def export_lessons(folder: Path, *, assets: Assets | None = None) -> dict[str, int]:
    """Write every lesson as ``folder/<id>.html`` and ``folder/index.html``; sizes by file name."""
    from gradstage import lessons
    from gradstage.tracer import trace_program

    assets = assets or read_assets()
    sizes: dict[str, int] = {}
    for lesson in lessons.catalog():
        trace = trace_program(lesson.source)
        document = standalone_html(
            trace, source=lesson.source, title=lesson.title["en"], lesson=lesson, assets=assets
        )
        sizes[f"{lesson.id}.html"] = _write(folder / f"{lesson.id}.html", document)
    sizes["index.html"] = _write(folder / "index.html", lesson_index(lessons.catalog()))
    return sizes


_INDEX_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
color:#1d2433;background:#fff}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
ol{padding-left:1.4rem}li{margin:.8rem 0}a{font-weight:600;color:#2557c7}
.zh{color:#555}.summary{margin:.1rem 0;color:#444;font-size:.94rem}
@media (prefers-color-scheme:dark){body{background:#14171f;color:#e4e8f0}a{color:#8fb0ff}
.zh,.summary{color:#b5bccb}h2{border-color:#334}}
"""


def lesson_index(catalog: list[Lesson]) -> str:
    """A static page linking every lesson file, grouped, with titles in English and Chinese."""
    from gradstage.lessons import GROUPS

    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>gradstage lessons · gradstage 课程</title>",
        f"<style>{_INDEX_CSS.strip()}</style>",
        "</head>",
        "<body>",
        "<header><h1>gradstage</h1>",
        "<p>What PyTorch's autograd does, one program at a time: open a lesson and replay it "
        "node by node. Every file plays on its own, with no server and no network.</p>",
        '<p lang="zh-CN" class="zh">PyTorch 自动求导的每个关键概念都是一个可以逐个节点回放的程序。'
        "每个文件都能单独打开播放，无需服务器，也无需联网。</p></header>",
        "<main>",
    ]
    for group_id, names in GROUPS.items():
        items = [lesson for lesson in catalog if lesson.group == group_id]
        if not items:
            continue
        parts.append(
            f"<section><h2>{e(names['en'])} · "
            f'<span lang="zh-CN">{e(names["zh-CN"])}</span></h2><ol>'
        )
        for lesson in items:
            zh_title = lesson.title.get("zh-CN", "")
            parts.append(
                f'<li><a href="{e(lesson.id)}.html">{e(lesson.title["en"])}</a>'
                f' · <span lang="zh-CN" class="zh">{e(zh_title)}</span>'
                f'<p class="summary">{e(lesson.summary.get("en", ""))}</p>'
                f'<p class="summary zh" lang="zh-CN">{e(lesson.summary.get("zh-CN", ""))}</p></li>'
            )
        parts.append("</ol></section>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def export_command(
    program: str | None, output: str | None, *, lessons_dir: str | None = None
) -> int:
    """``gradstage export``: 0 when written (even if the program raised), 2 when it could not be."""
    try:
        if lessons_dir is not None:
            if program is not None:
                _say("gradstage export: give either PROGRAM.py or --lessons DIR, not both")
                return 2
            if output is not None and Path(output) != Path(lessons_dir):
                _say("gradstage export: --lessons DIR is the output folder; leave out -o")
                return 2
            folder = Path(lessons_dir)
            sizes = export_lessons(folder)
            for name, size in sizes.items():
                print(f"{folder / name}  {_size(size)}")
            return 0
        if program is None:
            _say("gradstage export: give a program (gradstage export PROGRAM.py -o lesson.html)")
            return 2
        path = Path(program)
        if not path.is_file():
            reason = "it is a folder" if path.is_dir() else "no such file"
            _say(f"gradstage export: cannot read {program}: {reason}")
            return 2
        target = Path(output) if output else path.with_suffix(".html")
        if target.resolve() == path.resolve():
            _say(f"gradstage export: the output {target} would overwrite the program")
            return 2
        assets = read_assets()  # fail before running the program when there is nothing to inline
        trace = export_program(path, target, assets=assets)
        if trace.error is not None:
            where = f" at line {trace.error.line}" if trace.error.line else ""
            _say(f"note: the program raised {trace.error.type}{where}; the player shows it")
        print(f"{target}  {_size(target.stat().st_size)}")
        return 0
    except FrontEndMissing as exc:
        _say(f"gradstage export: {exc}")
        return 2
    except UnicodeDecodeError as exc:
        _say(f"gradstage export: cannot read {program}: not UTF-8 text ({exc.reason})")
        return 2
    except OSError as exc:
        name = str(exc.filename or program or lessons_dir)
        _say(f"gradstage export: cannot write or read {name}: {exc.strerror or exc}")
        return 2
