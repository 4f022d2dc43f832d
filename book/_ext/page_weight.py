"""Sphinx extension: keep every page view of the book under 2 MB (issue 14, §5).

``tests/site_browser.py`` weighs each page as a first visit (browser cache off) and fails
above 2 MB. Without this extension the nine chapters weighed 4.05-4.25 MB that way and the
API reference 4.30 MB; the largest files were pydata-sphinx-theme's
``scripts/fontawesome.js`` (1.49 MB) and MathJax's combined ``tex-chtml.js`` (1.16 MB).
What it changes:

* **fontawesome.js** is dropped. The theme's stylesheet already carries Font Awesome's CSS
  and ``@font-face`` rules, so each ``<i class="fa-solid fa-...">`` icon that the theme and
  sphinx-book-theme write is drawn from the solid webfont instead of being replaced by an
  inline ``<svg>``. ``ICON_LAYOUT`` gives the ``<i>`` icons the places the theme's
  stylesheet gives the ``<svg>`` ones.
* **The solid icon font** comes from a subset of the theme's ``fa-solid-900`` font
  (``_static/fa-solid-subset.woff``, about 3 kB, made at the end of the build with
  fontTools, which matplotlib already requires) instead of the whole font (157 kB as
  woff2). Its ``@font-face`` rule (``_static/fa-solid-subset.css``) comes after the
  theme's and names the subset's characters in ``unicode-range``, so the browser takes
  those characters from the subset and would still fetch the whole font for any other
  icon: an icon the scan misses costs weight, not a missing glyph. The subset holds the
  icons named by an ``fa-*`` class in a page or a ``_static`` script, and every Private
  Use Area character that a ``_static`` stylesheet uses outside Font Awesome's own
  ``.fa-NAME:before`` rules (the themes' admonition, link and table-of-contents icons).
* **Font Awesome's icon rules** (``.fa-NAME:before{content:...}``, one per icon and 86 kB
  of the theme's 397 kB stylesheet) are kept only for the icons found by the same scan.
* **MathJax** 3.2.2 (sphinx-mathjax-offline's copy in ``_static/mathjax``) is loaded as
  separate components, ``startup.js`` with ``input/tex``, ``output/chtml`` and
  ``a11y/assistive-mml``, instead of the combined ``tex-chtml.js``: the same TeX input
  (autoloaded packages included), the same CHTML output and the same hidden MathML for
  screen readers, without the right-click menu (``ui/menu``, 0.43 MB) and without the
  keyboard focus (``tabindex``) that the menu gave each formula.
* **Sphinx's search scripts** (``searchtools.js``, ``language_data.js`` and the whole
  ``searchindex.js``) are dropped from every page but ``search.html`` while the theme's
  ``search_as_you_type`` is off: pydata-sphinx-theme adds them to every page only for
  search-as-you-type; without it the search box sends the reader to ``search.html``,
  which keeps them. (While ``Search`` was defined on every page, ``sphinx_highlight.js``
  did not highlight the searched words on the page a result leads to; now it does.)
* **sphinx-design's** ``sphinx-design.min.css`` and ``design-tabs.js`` are dropped from
  pages that use none of its ``sd-`` classes (when this was written, no page used one).
* ``_static/scripts/fontawesome.js`` and every source map (``*.map``) under ``_static``
  are deleted from the built site (4.9 MB together). Browsers fetch a source map only while
  their developer tools are open, so the maps never counted in a page view; with the
  developer tools open, they now report the maps as missing.
"""

from __future__ import annotations

import re
from pathlib import Path

FONTAWESOME_JS = re.compile(
    r"\s*(?:<!-- So that users can add custom icons -->\s*)?"
    r'<script\b[^>]*\bsrc="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>'
)
SEARCH_SCRIPTS = re.compile(
    r'\s*<script\b[^>]*\bsrc="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)[^"]*"[^>]*>'
    r"</script>"
)
SPHINX_DESIGN = re.compile(
    r'\s*<(?:link\b[^>]*\bhref="[^"]*_static/sphinx-design\.min\.css[^"]*"[^>]*/?>'
    r'|script\b[^>]*\bsrc="[^"]*_static/design-tabs\.js[^"]*"[^>]*></script>)'
)
SPHINX_DESIGN_USED = re.compile(r'\bclass="[^"]*\bsd-')

MATHJAX_PATH = "mathjax/startup.js"
MATHJAX_COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]

SUBSET_NAME = "fa-solid-subset"
# Font Awesome's rule for one icon and its aliases: .fa-bars:before,.fa-navicon:before{content:"\f0c9"}
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)\{content:"(\\[0-9a-fA-F]{1,6}|[^"\\])"\}')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
PRIVATE_USE = re.compile(r"\\([ef][0-9a-f]{3})(?![0-9a-f])|([\ue000-\uf8ff])", re.I)
# fontawesome.js replaced each <i class="fa-solid fa-NAME"> by an <svg> without the fa-solid
# class, and the theme's stylesheet places the <svg>. The <i> icons get the same places: the
# search icon in the line instead of absolute (where it overlapped the text of the search
# dialog's field), at the <svg>'s size there, and visible in the search field below 960 px,
# where the theme hides every child of the field but an <svg>; the colour-mode icon (fa-lg)
# in the article header as wide as the <svg> was (1.3rem), not 1.25 times that.
ICON_LAYOUT = """/* Where the theme's stylesheet placed fontawesome.js's <svg> icons, place the <i> icons. */
.bd-search .fa-solid.fa-magnifying-glass{position:static}
#pst-search-dialog[open] form.bd-search i.fa-solid{font-size:var(--pst-font-size-icon)}
.search-button-field>i.fa-solid{display:flex}
.bd-header-article .btn i.fa-lg{font-size:1em}
"""


def _lighter_mathjax(app, config) -> None:
    # sphinx-mathjax-offline sets mathjax_path to its combined tex-chtml.js in its setup()
    config.mathjax_path = MATHJAX_PATH
    config.mathjax3_config = dict(config.mathjax3_config or {})
    config.mathjax3_config.setdefault("loader", {}).setdefault("load", MATHJAX_COMPONENTS)


def _lighten(html: str, context: dict) -> str:
    html = FONTAWESOME_JS.sub("", html)
    # the same test as pydata-sphinx-theme's DOCUMENTATION_OPTIONS.search_as_you_type
    as_you_type = str(context.get("theme_search_as_you_type", False)).lower() == "true"
    if context.get("pagename") != "search" and not as_you_type:
        html = SEARCH_SCRIPTS.sub("", html)
    if not SPHINX_DESIGN_USED.search(html):
        html = SPHINX_DESIGN.sub("", html)
    return html


def _filter_rendered_pages(app) -> None:
    """Wrap the HTML builder's template rendering so that each page is written lighter."""
    templates = getattr(app.builder, "templates", None)
    if app.builder.format != "html" or templates is None:
        return
    app.add_css_file(f"{SUBSET_NAME}.css")  # written at build-finished, once every page is known
    render = templates.render

    def render_lighter(template: str, context: dict) -> str:
        return _lighten(render(template, context), context)

    templates.render = render_lighter


def _codepoint(text: str) -> int:
    return int(text[1:], 16) if text.startswith("\\") else ord(text)


def _stylesheets(static: Path) -> list[Path]:
    return [p for p in static.rglob("*.css") if p.name != f"{SUBSET_NAME}.css" and "mathjax" not in p.parts]


def _used_icon_classes(outdir: Path) -> set[str]:
    """Every fa-NAME named in a page or in a _static script (MathJax's aside)."""
    static = outdir / "_static"
    texts = [p for p in outdir.rglob("*.html") if "_static" not in p.relative_to(outdir).parts]
    texts += [p for p in static.rglob("*.js") if "mathjax" not in p.relative_to(static).parts]
    return {name for path in texts for name in ICON_CLASS.findall(path.read_text(encoding="utf-8", errors="replace"))}


def _used_icon_codepoints(static: Path, used_classes: set[str]) -> set[int]:
    css = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in _stylesheets(static))
    by_class = {name.removeprefix(".").removesuffix(":before"): _codepoint(code)
                for names, code in ICON_RULE.findall(css) for name in names.strip(",").split(",")}
    used = {int(esc, 16) if esc else ord(char) for esc, char in PRIVATE_USE.findall(ICON_RULE.sub("", css))}
    return used | {by_class[name] for name in used_classes if name in by_class}


def _drop_unused_icon_rules(static: Path, used_classes: set[str]) -> None:
    def keep_if_used(rule: re.Match) -> str:
        names = {name.removeprefix(".").removesuffix(":before") for name in rule.group(1).strip(",").split(",")}
        return rule.group(0) if names & used_classes else ""

    for sheet in _stylesheets(static):
        text = sheet.read_text(encoding="utf-8")
        lighter = ICON_RULE.sub(keep_if_used, text)
        if lighter != text:
            sheet.write_text(lighter, encoding="utf-8")


def _write_icon_subset(static: Path, codepoints: set[int]) -> None:
    from fontTools import subset  # a dependency of matplotlib

    full = static / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf"  # reading woff2 needs brotli
    options = subset.Options()
    options.flavor = "woff"
    font = subset.load_font(str(full), options)
    kept = sorted(codepoints & set(font.getBestCmap()))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=kept)
    subsetter.subset(font)
    subset.save_font(font, str(static / f"{SUBSET_NAME}.woff"), options)
    ranges = ",".join(f"U+{c:X}" for c in kept)
    (static / f"{SUBSET_NAME}.css").write_text(
        "/* Written by book/_ext/page_weight.py. The solid icons this site uses, from a subset of the\n"
        "   theme's Font Awesome font; other characters still come from the whole font. */\n"
        '@font-face{font-family:"Font Awesome 6 Free";font-style:normal;font-weight:900;font-display:block;'
        f'src:url({SUBSET_NAME}.woff) format("woff");unicode-range:{ranges}}}\n' + ICON_LAYOUT,
        encoding="utf-8",
    )


def _finish_static_files(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    for path in [static / "scripts" / "fontawesome.js", *static.rglob("*.map")]:
        path.unlink(missing_ok=True)
    used_classes = _used_icon_classes(outdir)
    codepoints = _used_icon_codepoints(static, used_classes)  # before the rules go
    _drop_unused_icon_rules(static, used_classes)
    _write_icon_subset(static, codepoints)


def setup(app):
    app.connect("config-inited", _lighter_mathjax, priority=900)
    app.connect("builder-inited", _filter_rendered_pages)
    app.connect("build-finished", _finish_static_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
