"""Check that a built site loads nothing from outside itself.

Usage: ``python tests/site_offline.py _build/html`` (``.ci/run`` does this after the
build). Exit status 1 lists every page, tag and URL that would be fetched from
another host, and every local script or stylesheet that is missing. Links the
reader may click (``<a href>``) are allowed; resources the browser loads by
itself are not.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

# (tag, attribute) pairs whose URL the browser fetches while loading the page.
LOADED = {
    ("script", "src"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
}
LINK_RELS_LOADED = {"stylesheet", "preload", "modulepreload", "icon", "shortcut icon", "manifest", "prefetch"}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")


def is_external(url: str) -> bool:
    """True for URLs that leave the site: a scheme other than data:, or protocol-relative //."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = urlsplit(url).scheme.lower()
    return scheme not in {"", "data", "blob", "about"}


class _ResourceCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, str]] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for attr in ("src", "data"):
            if (tag, attr) in LOADED and values.get(attr):
                self.loaded.append((tag, values[attr]))
        if tag == "link" and values.get("rel", "").lower() in LINK_RELS_LOADED and values.get("href"):
            self.loaded.append((f"link rel={values['rel']}", values["href"]))
        if values.get("style"):
            self.inline_css.append(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


def css_urls(css: str) -> list[str]:
    """URLs that a stylesheet fetches (``url(...)`` and ``@import``); comments ignored."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return CSS_URL.findall(css)


def site_pages(site: Path) -> list[Path]:
    """The HTML pages of a site; theme templates shipped under _static are not pages."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def problems(site: Path) -> list[str]:
    """Every outside fetch and every missing local script/stylesheet in a built site."""
    found: list[str] = []
    pages = site_pages(site)
    if not pages:
        return [f"{site}: no HTML pages found (was the site built?)"]
    for page in pages:
        collector = _ResourceCollector()
        collector.feed(page.read_text(encoding="utf-8", errors="replace"))
        rel = page.relative_to(site)
        for tag, url in collector.loaded:
            if is_external(url):
                found.append(f"{rel}: <{tag}> loads {url}")
            elif tag in {"script", "link rel=stylesheet"}:
                local = (page.parent / urlsplit(url).path).resolve()
                if not local.is_file():
                    found.append(f"{rel}: <{tag}> points at missing file {url}")
        for css in collector.inline_css:
            found += [f"{rel}: inline style loads {u}" for u in css_urls(css) if is_external(u)]
    for sheet in sorted(site.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        found += [f"{sheet.relative_to(site)}: loads {u}" for u in css_urls(text) if is_external(u)]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    site = Path(argv[1])
    found = problems(site)
    for line in found:
        print(line)
    n_pages = len(site_pages(site))
    print(f"site offline check: {n_pages} pages, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
