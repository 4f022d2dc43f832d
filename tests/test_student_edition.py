"""The student edition: solutions removed from the notebooks, and a check that finds any left."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from prodassoc_lab.student_edition import solution_leaks, strip_solutions

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def start(label: str = "ex1"):
    return new_markdown_cell(f"```{{solution-start}} {label}\n:class: dropdown\n```")


def end():
    return new_markdown_cell("```{solution-end}\n```")


def test_strip_removes_gated_and_tagged_cells():
    tagged = new_code_cell("x = 1")
    tagged.metadata["tags"] = ["solution"]
    notebook = new_notebook(cells=[new_markdown_cell("text"), start(), new_code_cell("# Solution 1"),
                                   new_markdown_cell("*Solution 1, in words.*"), end(), tagged,
                                   new_code_cell("kept = True")])
    assert strip_solutions(notebook) == 5
    assert [c.source for c in notebook.cells] == ["text", "kept = True"]


@pytest.mark.parametrize("cells, message", [
    ([start(), new_code_cell("x")], "never closed"),
    ([start(), start(), end()], "inside another one"),
    ([end()], "never opened"),
])
def test_strip_refuses_broken_markers(cells, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(new_notebook(cells=cells), "broken.ipynb")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_exercise_has_a_solution_and_none_survives_stripping(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    exercises = re.findall(r"^:::\{exercise\}.*\n:label: (\S+)", markdown, flags=re.M)
    solutions = re.findall(r"^```\{solution-start\} (\S+)", markdown, flags=re.M)
    assert len(exercises) >= 3 and exercises == solutions
    # a difficulty mark in every title
    assert len(re.findall(r"^:::\{exercise\} .*★", markdown, flags=re.M)) == len(exercises)
    strip_solutions(notebook, path.name)
    for cell in notebook.cells:
        assert "solution" not in cell.metadata.get("tags", [])
        assert not re.match(r"\s*(#|\*)\s*Solution \d", cell.source), cell.source[:60]


def test_leak_check_finds_a_solution_box_and_a_solution_cell(tmp_path):
    (tmp_path / "page.html").write_text('<div class="solution dropdown admonition">', encoding="utf-8")
    (tmp_path / "clean.html").write_text("<p>Exercise 1</p>", encoding="utf-8")
    nbformat.write(new_notebook(cells=[new_code_cell("# Solution 2\nprint(1)")]), tmp_path / "nb.ipynb")
    leaks = solution_leaks(tmp_path)
    assert len(leaks) == 2 and leaks[0].startswith("page.html") and leaks[1].startswith("nb.ipynb")
