"""``gradstage export``: one self-contained HTML file per program, every lesson plus an index."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import msgspec
import pytest
from gradstage import lessons
from gradstage.cli import main
from gradstage.export import FrontEndMissing, read_assets, standalone_html
from gradstage.schema import Trace
from gradstage.tracer import trace_program

from tests.export.selfcontained import assert_self_contained, parse

pytestmark = pytest.mark.xdist_group("export")

GRADSTAGE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradstage"
MEGABYTE = 1_000_000

PROGRAM = """import torch
# 中文注释：计算 y = x² 的梯度
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print("梯度", x.grad)
"""

RAISES = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
y.backward()
"""


@pytest.fixture(scope="module")
def lesson_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lessons")
    assert main(["export", "--lessons", str(folder)]) == 0
    return folder


def test_every_exported_lesson_is_under_one_megabyte(lesson_dir: Path) -> None:
    sizes = {
        lesson.id: (lesson_dir / f"{lesson.id}.html").stat().st_size for lesson in lessons.catalog()
    }
    for lesson_id, size in sizes.items():
        print(f"{lesson_id}.html {size / MEGABYTE:.3f} MB")
    assert sizes, "there are lessons"
    assert max(sizes.values()) < MEGABYTE


def test_every_exported_lesson_is_one_self_contained_document_with_its_trace(
    lesson_dir: Path,
) -> None:
    for lesson in lessons.catalog():
        doc = assert_self_contained((lesson_dir / f"{lesson.id}.html").read_text("utf-8"))
        boot = doc.boot()
        assert boot["source"] == lesson.source
        assert boot["lesson"]["id"] == lesson.id
        assert boot["lesson"]["title"] == lesson.title
        embedded = msgspec.convert(boot["trace"], Trace)
        fresh = trace_program(lesson.source)
        assert [type(e).__name__ for e in embedded.events] == [
            type(e).__name__ for e in fresh.events
        ]
        assert [n.name for n in embedded.nodes] == [n.name for n in fresh.nodes]
        assert embedded.stdout == fresh.stdout


def test_the_lesson_index_links_every_lesson_by_group_in_both_languages(lesson_dir: Path) -> None:
    text = (lesson_dir / "index.html").read_text("utf-8")
    doc = parse(text)
    links = [attrs["href"] for name, attrs in doc.tags if name == "a"]
    catalog = lessons.catalog()
    assert links == [f"{lesson.id}.html" for lesson in catalog]
    assert all((lesson_dir / link).is_file() for link in links)
    for lesson in catalog:
        assert lesson.title["en"] in text
        assert lesson.title["zh-CN"] in text
    for group_id in {lesson.group for lesson in catalog}:
        names = lessons.GROUPS[group_id]
        assert names["en"] in text
        assert names["zh-CN"] in text
    assert doc.count("script") == 0
    assert [r for r in doc.external_references() if not r.startswith("<a ")] == []


def test_export_writes_a_player_whose_trace_is_the_programs(tmp_path: Path) -> None:
    program = tmp_path / "square.py"
    program.write_text(PROGRAM, encoding="utf-8")
    output = tmp_path / "out" / "square.html"
    result = subprocess.run(
        [str(GRADSTAGE), "export", str(program), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = assert_self_contained(output.read_text("utf-8"))
    boot = doc.boot()
    assert boot["source"] == PROGRAM
    assert boot["trace"]["stdout"] == "梯度 tensor([2., 4.])\n"
    x = next(t for t in boot["trace"]["tensors"] if t.get("name") == "x")
    assert x["grad"]["data"] == [2.0, 4.0]
    print(f"square.html {output.stat().st_size / MEGABYTE:.3f} MB")


def test_export_of_a_program_that_raises_still_writes_the_player_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "nonscalar.py"
    program.write_text(RAISES, encoding="utf-8")
    assert main(["export", str(program)]) == 0
    with pytest.raises(RuntimeError) as raised:
        exec(compile(RAISES, "nonscalar.py", "exec"), {})
    boot = assert_self_contained((tmp_path / "nonscalar.html").read_text("utf-8")).boot()
    assert boot["trace"]["error"]["type"] == "RuntimeError"
    assert boot["trace"]["error"]["message"] == str(raised.value)
    assert boot["trace"]["error"]["line"] == 4
    assert "RuntimeError" in capsys.readouterr().err


def test_export_of_a_missing_program_fails_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path / "missing.py"), "-o", str(tmp_path / "x.html")]) == 2
    assert "missing.py" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_export_needs_a_program_or_the_lessons_but_not_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export"]) == 2
    program = tmp_path / "p.py"
    program.write_text("print(1)\n")
    assert main(["export", str(program), "--lessons", str(tmp_path / "site")]) == 2
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_export_without_a_built_front_end_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FrontEndMissing, match="make setup"):
        read_assets(tmp_path)
    monkeypatch.setattr("gradstage.export.static_dir", lambda: tmp_path)
    program = tmp_path / "p.py"
    program.write_text("print(1)\n")
    assert main(["export", str(program)]) == 2
    err = capsys.readouterr().err
    assert "make setup" in err
    assert "npm run build" in err
    assert not (tmp_path / "p.html").exists()


def test_closing_tags_in_the_program_cannot_end_the_inline_scripts() -> None:
    source = 'print("</script><script>alert(1)</script> <!-- & </style>")\n'
    trace = trace_program(source)
    assert trace.stdout == "</script><script>alert(1)</script> <!-- & </style>\n"
    html = standalone_html(trace, source=source, title="</title><b>x</b>")
    doc = assert_self_contained(html)
    assert doc.count("script") == 3  # boot JSON, layout worker, page script
    assert doc.count("b") == 0
    boot = doc.boot()
    assert boot["source"] == source
    assert boot["trace"]["stdout"] == trace.stdout


def test_view_options_become_the_fragment_the_page_starts_with() -> None:
    trace = trace_program("x = 1\n")
    html = standalone_html(
        trace, source="x = 1\n", title="t", options={"autoplay": True, "view": "grad_fn"}
    )
    scripts = [text for attrs, text in parse(html).scripts if not attrs]
    assert len(scripts) == 1, "one small classic script runs before the page"
    written = re.search(r"replaceState\(null,'',(\"[^\"]*\")\)", scripts[0])
    assert written is not None
    assert json.loads(written.group(1)) == "#autoplay=1&view=grad_fn"
    assert scripts[0].startswith("if(!location.hash)"), "a link's own fragment wins"
    with pytest.raises(ValueError, match="unknown view option"):
        standalone_html(trace, source="", title="t", options={"autoplay_": True})
