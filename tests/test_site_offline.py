"""Unit tests of the offline-site checker that .ci/run applies to the built book."""

from __future__ import annotations

from pathlib import Path

from site_offline import is_external, problems


def write(site: Path, name: str, text: str) -> None:
    path = site / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_self_contained_page_passes(tmp_path):
    write(tmp_path, "_static/mathjax/tex-chtml.js", "")
    write(tmp_path, "_static/theme.css", "/* see https://example.org */ a { background: url(img.png) }")
    write(
        tmp_path,
        "book/page.html",
        '<link rel="stylesheet" href="../_static/theme.css?v=1">'
        '<script defer src="../_static/mathjax/tex-chtml.js"></script>'
        '<a href="https://example.org/paper">a link the reader may click</a>'
        '<img src="data:image/png;base64,AAAA">',
    )
    assert problems(tmp_path) == []


def test_cdn_resources_are_reported(tmp_path):
    write(
        tmp_path,
        "index.html",
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.com/css">'
        '<div style="background: url(http://example.com/x.png)"></div>'
        "<style>@import 'https://fonts.example.com/font.css';</style>",
    )
    found = problems(tmp_path)
    assert len(found) == 4
    assert any("cdn.jsdelivr.net" in line for line in found)


def test_external_url_inside_a_stylesheet(tmp_path):
    write(tmp_path, "index.html", "<p>text</p>")
    write(tmp_path, "_static/fonts.css", "@font-face { src: url('https://fonts.example.com/a.woff2') }")
    assert problems(tmp_path) == ["_static/fonts.css: loads https://fonts.example.com/a.woff2"]


def test_missing_local_script_is_reported(tmp_path):
    write(tmp_path, "index.html", '<script src="_static/mathjax/tex-chtml.js"></script>')
    assert problems(tmp_path) == ["index.html: <script> points at missing file _static/mathjax/tex-chtml.js"]


def test_an_empty_folder_is_not_a_site(tmp_path):
    assert "no HTML pages" in problems(tmp_path)[0]


def test_url_classification():
    assert is_external("https://a.b/c") and is_external("//a.b/c") and is_external("HTTP://A.B")
    assert not any(is_external(u) for u in ["../x.js", "data:image/png;base64,", "#top", "x.css?v=1"])
