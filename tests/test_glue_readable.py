"""Every number the prose pastes with {glue:text}`name` is readable in JupyterLab too (issue 14).

JupyterLab shows a glue role as raw markup, so the book prints each glued text as a line
``name = text`` (``prodassoc_lab.notebook.glue_text``) in a code cell above the prose. This
test reads the stored notebooks and checks, for every role in a markdown cell, that the
name is glued in the notebook and that a visible output (stdout or text/plain) of a code
cell before that markdown cell holds the line ``name = text``, where ``text`` is exactly
what myst-nb pastes into the website.
"""

from __future__ import annotations

import re
from pathlib import Path

import myst_nb
import nbformat
import pytest
from myst_nb.core.variables import format_plain_text
from myst_nb.ext.glue import GLUE_PREFIX

from prodassoc_lab.notebook import glue_text

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
# Any inline glue role, {glue}`x`, {glue:any}`x`, {glue:text}`x`, ...; and the block directives.
ROLE = re.compile(r"\{glue(?::(?P<kind>[a-z]*))?\}`(?P<content>[^`]*)`")
DIRECTIVE = re.compile(r"^\s*(```+|:::+)\s*\{glue(:[a-z]+)?\}", re.MULTILINE)
PRINTED = re.compile(r"^(?P<name>\w+) = (?P<text>.*)$")


def split_role(content: str) -> tuple[str, str]:
    """Name and format of a {glue:text} role, split as myst-nb's ``PasteTextRole`` splits them."""
    key_format = content.rsplit(":", 1)
    return (key_format[0], key_format[1]) if len(key_format) == 2 else (key_format[0], "s")


def visible_text(output: nbformat.NotebookNode) -> str:
    """What JupyterLab shows of an output as text: stdout, or text/plain of a displayed result."""
    if output.output_type == "stream":
        return output.text if output.name == "stdout" else ""
    if output.output_type in ("execute_result", "display_data"):
        # glue(..., display=False) stores its data under a prefixed MIME type, which JupyterLab does not show
        return output.get("data", {}).get("text/plain", "")
    return ""


def glued_text(output: nbformat.NotebookNode) -> tuple[str, str] | None:
    """(name, stored text/plain) of a myst-nb glue output, None for any other output."""
    scrapbook = output.get("metadata", {}).get("scrapbook")
    if scrapbook is None:
        return None
    return scrapbook["name"], output["data"][scrapbook.get("mime_prefix", GLUE_PREFIX) + "text/plain"]


def unreadable_roles(path: Path) -> list[str]:
    """One message per glue role of the notebook at ``path`` whose value a JupyterLab reader cannot see."""
    notebook = nbformat.read(path, as_version=4)
    glued: dict[str, str] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if (name_text := glued_text(output)) is not None:
                glued[name_text[0]] = name_text[1]
    problems: list[str] = []
    printed: dict[str, set[str]] = {}  # name -> texts printed as "name = text" so far
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                for line in visible_text(output).splitlines():
                    if match := PRINTED.match(line):
                        printed.setdefault(match["name"], set()).add(match["text"])
            continue
        if cell.cell_type != "markdown":
            continue
        where = f"{path.name}, cell {index}"
        if DIRECTIVE.search(cell.source):
            problems.append(f"{where}: a glue directive; this test checks inline {{glue:text}} roles only")
        for role in ROLE.finditer(cell.source):
            if role["kind"] != "text":
                problems.append(f"{where}: {role[0]} is not a {{glue:text}} role; this test cannot check it")
                continue
            name, spec = split_role(role["content"])
            if "::" in name:
                problems.append(f"{where}: {role[0]} pastes from another notebook; print the value here")
                continue
            if name not in glued:
                problems.append(f"{where}: {role[0]} names nothing glued in this notebook")
                continue
            shown = format_plain_text(glued[name], spec)  # what the website pastes
            if shown not in printed.get(name, set()):
                problems.append(f"{where}: {role[0]} shows {shown!r} on the site, but no code cell above prints "
                                f"the line {name} = {shown} (printed: {sorted(printed.get(name, set()))})")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_glued_number_is_printed_above_its_prose(path: Path) -> None:
    problems = unreadable_roles(path)
    assert not problems, "\n".join(problems)


def test_the_book_has_glue_roles_to_check() -> None:
    # Guards against a path or pattern change that would make the test above check nothing.
    sources = [cell.source for path in NOTEBOOKS for cell in nbformat.read(path, as_version=4).cells
               if cell.cell_type == "markdown"]
    assert len(NOTEBOOKS) >= 10 and sum(len(ROLE.findall(source)) for source in sources) >= 400


def test_glue_text_prints_the_text_the_site_pastes(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    glued: list[tuple[str, object, bool]] = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value, display)))
    glue_text("share", 0.123456, ".1%")
    glue_text("count", 1234567, ",")
    assert capsys.readouterr().out == "share = 12.3%\ncount = 1,234,567\n"
    assert glued == [("share", "12.3%", False), ("count", "1,234,567", False)]
    # the site pastes the stored repr of the glued str, unquoted by myst-nb
    assert [format_plain_text(repr(value), "s") for _, value, _ in glued] == ["12.3%", "1,234,567"]
    with pytest.raises(ValueError, match="identifier"):
        glue_text("not a name", 1)
