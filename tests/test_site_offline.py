"""Unit tests of the offline-site checker that .ci/run applies to the built book, of the
page-weight accounting of its browser check, and of book/_ext/page_weight.py, which
decides what each page of the book loads."""

from __future__ import annotations

import sys
from pathlib import Path

from site_browser import MAX_PAGE_BYTES, Page
from site_offline import is_external, problems

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import page_weight  # noqa: E402  (book/_ext is Sphinx's folder of local extensions, not a package)


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


# A page's head as pydata-sphinx-theme 0.17 and Sphinx 7.4 write it (abridged).
HEAD = """<link href="../_static/styles/pydata-sphinx-theme.css?digest=1" rel="stylesheet" />
    <link rel="stylesheet" type="text/css" href="../_static/sphinx-design.min.css?v=6a604523" />
  <!-- So that users can add custom icons -->
  <script defer src="../_static/scripts/fontawesome.js?digest=1"></script>
    <script data-sd-tabs-storage-prefix="sphinx-design-tab-id-" src="../_static/design-tabs.js?v=fcb327ea"></script>
    <script defer="defer" src="../_static/mathjax/startup.js"></script>
    <script src="../_static/searchtools.js"></script>
    <script src="../_static/language_data.js"></script>
    <script src="../searchindex.js"></script>
<i class="fa-solid fa-bars"></i>"""


def test_pages_lose_fontawesome_js_search_scripts_and_unused_sphinx_design():
    page = page_weight._lighten(HEAD, {"pagename": "book/intro", "theme_search_as_you_type": False})
    for gone in ["fontawesome.js", "custom icons", "searchtools.js", "language_data.js", "searchindex.js",
                 "sphinx-design.min.css", "design-tabs.js"]:
        assert gone not in page
    for kept in ["pydata-sphinx-theme.css", "mathjax/startup.js", '<i class="fa-solid fa-bars">']:
        assert kept in page


def test_search_page_search_as_you_type_and_sphinx_design_keep_their_files():
    search = page_weight._lighten(HEAD, {"pagename": "search", "theme_search_as_you_type": False})
    assert "searchindex.js" in search and "fontawesome.js" not in search
    as_you_type = page_weight._lighten(HEAD, {"pagename": "book/intro", "theme_search_as_you_type": "True"})
    assert "searchtools.js" in as_you_type and "searchindex.js" in as_you_type
    cards = page_weight._lighten(HEAD + '<div class="sd-card sd-shadow-sm">', {"pagename": "book/intro"})
    assert "sphinx-design.min.css" in cards and "design-tabs.js" in cards


def test_icon_rules_kept_only_for_used_icons(tmp_path):
    static = tmp_path / "_static"
    write(tmp_path, "_static/styles/theme.css",
          '.fa-solid{font-family:x}.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}'
          '.fa-bell:before{content:"\\f0f3"}.fa-a:before{content:"A"}'
          'html{--pst-icon-lightbulb:"\uf0eb"}.toc:after{content:"\\f107"}')
    used = {"fa-navicon", "fa-solid", "fa-lg"}
    assert page_weight._used_icon_codepoints(static, used) == {0xF0C9, 0xF0EB, 0xF107}
    page_weight._drop_unused_icon_rules(static, used)
    assert (static / "styles/theme.css").read_text() == (
        '.fa-solid{font-family:x}.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}'
        'html{--pst-icon-lightbulb:"\uf0eb"}.toc:after{content:"\\f107"}')


def test_browser_check_weighs_every_finished_response():
    page = Page(connection=None)
    for request, url, size in [("1", "http://127.0.0.1/book/a.html", 300_000),
                               ("2", "http://127.0.0.1/_static/b.css", 1_200_000),
                               ("3", "http://127.0.0.1/_static/c.woff", 0)]:
        page.observe({"method": "Network.requestWillBeSent", "params": {"requestId": request, "request": {"url": url}}})
        if size:
            page.observe({"method": "Network.loadingFinished",
                          "params": {"requestId": request, "encodedDataLength": size}})
    assert page.bytes == 1_500_000 and page.open == {"3"} and page.outside == []
    assert page.largest(1) == ["b.css 1.20 MB"]
    page.observe({"method": "Network.loadingFailed", "params": {"requestId": "3"}})
    assert page.open == set() and page.bytes < MAX_PAGE_BYTES
