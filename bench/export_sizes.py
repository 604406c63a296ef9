"""How big is each exported lesson, and what is it made of?

Exports every lesson the way ``gradstage export --lessons DIR`` does and prints, per lesson, the
file's size and the share of it that is the Trace (the rest is the page script, the layout
worker and the stylesheet, the same in every file). The goal (issue 7): under 1 MB each.

    .venv/bin/python bench/export_sizes.py

Needs the front end built (make setup).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import msgspec
from gradstage import lessons
from gradstage.export import export_lessons, read_assets

MEGABYTE = 1_000_000


def main() -> None:
    assets = read_assets()
    shared = sum(len(x.encode()) for x in (assets.script, assets.worker, assets.css))
    print(
        f"inlined in every file: app.js {len(assets.script.encode()) / 1e3:.1f} kB, "
        f"layout.worker.js {len(assets.worker.encode()) / 1e3:.1f} kB, "
        f"app.css {len(assets.css.encode()) / 1e3:.1f} kB ({shared / 1e3:.1f} kB)"
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        sizes = export_lessons(Path(folder), assets=assets)
        took = time.perf_counter() - started
        print(f"{'lesson':<24} {'file':>10} {'trace':>10}")
        for lesson in lessons.catalog():
            size = sizes[f"{lesson.id}.html"]
            text = (Path(folder) / f"{lesson.id}.html").read_text("utf-8")
            boot = text.split('id="gradstage-boot">', 1)[1].split("</script>", 1)[0]
            trace = len(msgspec.json.encode(msgspec.json.decode(boot)["trace"]))
            print(f"{lesson.id:<24} {size / MEGABYTE:>8.3f} MB {trace / 1e3:>7.1f} kB")
        largest = max(v for k, v in sizes.items() if k != "index.html")
        print(f"index.html {sizes['index.html'] / 1e3:.1f} kB")
        print(f"largest lesson file: {largest / MEGABYTE:.3f} MB (goal: under 1 MB)")
        print(f"exported {len(sizes) - 1} lessons + index in {took:.1f} s")


if __name__ == "__main__":
    main()
