"""Reading an exported player back: its elements, its boot JSON, and what it would fetch."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

# Attributes through which an element loads something (or links somewhere).
_URL_ATTRIBUTES = {"src", "href", "srcset", "data", "action", "poster", "background"}
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)", re.IGNORECASE)


@dataclass
class Document:
    """The elements of an HTML document, with the text of each script and style."""

    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scripts: list[tuple[dict[str, str], str]] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)

    def count(self, tag: str) -> int:
        """How many ``tag`` elements the document has."""
        return sum(1 for name, _ in self.tags if name == tag)

    def boot(self) -> dict[str, Any]:
        """The page's boot JSON (``<script type="application/json" id="gradstage-boot">``)."""
        texts = [text for attrs, text in self.scripts if attrs.get("id") == "gradstage-boot"]
        assert len(texts) == 1, f"expected one boot block, found {len(texts)}"
        data: dict[str, Any] = json.loads(texts[0])
        return data

    def external_references(self) -> list[str]:
        """Every URL an element or stylesheet refers to that is not inline (``data:``)."""
        found = []
        for name, attrs in self.tags:
            for key, value in attrs.items():
                if name == "base" and value == "about:srcdoc":
                    continue  # keeps "#..." inside an iframe srcdoc; loads nothing
                if key in _URL_ATTRIBUTES and not value.startswith("data:"):
                    found.append(f"<{name} {key}={value!r}>")
        for css in [*self.styles, *(a.get("style", "") for _, a in self.tags)]:
            found += [f"css url({u})" for u in _CSS_URL.findall(css) if not u.startswith("data:")]
            if "@import" in css:
                found.append("css @import")
        return found


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Document()
        self._open: tuple[str, dict[str, str]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.doc.tags.append((tag, values))
        if tag in ("script", "style"):
            self._open, self._text = (tag, values), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.doc.scripts.append((self._open[1], text))
            else:
                self.doc.styles.append(text)
            self._open = None


def parse(html: str) -> Document:
    """Parse an HTML document the way a browser tokenises it (script text is raw text)."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.doc


def assert_self_contained(html: str) -> Document:
    """One whole document that needs nothing else: no file, no server, no network."""
    assert html.lstrip().lower().startswith("<!doctype html>")
    doc = parse(html)
    assert doc.count("html") == 1
    assert doc.count("head") == 1
    assert doc.count("body") == 1
    assert doc.external_references() == []
    modules = [text for attrs, text in doc.scripts if attrs.get("type") == "module"]
    assert len(modules) == 1
    assert len(modules[0]) > 10_000, "the page script is inlined"
    workers = [text for attrs, text in doc.scripts if attrs.get("id") == "gradstage-worker"]
    assert len(workers) == 1
    assert workers[0].strip(), "the layout worker is inlined"
    assert len(doc.styles) == 1
    assert len(doc.styles[0]) > 1_000, "the stylesheet is inlined"
    boot = doc.boot()
    assert boot["api"] is None, "an exported player never calls a server"
    return doc
