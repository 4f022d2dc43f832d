"""The student edition: solutions removed from the notebooks, and a check that finds any left."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from prodassoc_lab.tools.student_edition import (
    MARKER,
    _replace_folder,
    check_output_folder,
    solution_leaks,
    strip_solutions,
)
from prodassoc_lab.tools.student_edition import main as student_edition_main

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


def fake_repository(tmp_path: Path) -> Path:
    repository = tmp_path / "checkout"
    (repository / "book").mkdir(parents=True)
    (repository / "book" / "intro.md").write_text("# Intro\n", encoding="utf-8")
    for name in ("_toc.yml", "_config.yml"):
        (repository / name).write_text("", encoding="utf-8")
    return repository


def test_a_folder_that_is_not_the_book_is_refused_as_repository(tmp_path):
    with pytest.raises(ValueError,
                       match=r"is not the book's repository: it lacks \['book', '_toc.yml', '_config.yml'\]"):
        check_output_folder(tmp_path, tmp_path / "site")


@pytest.mark.parametrize("out, message", [
    (".", "contains the repository"),
    ("..", "contains the repository"),
    ("book", "inside the book's sources"),
    ("book/site", "inside the book's sources"),
    ("book/intro.md", "inside the book's sources"),
    ("no/such/parent/site", "does not exist"),
])
def test_output_folder_that_would_lose_data_is_refused(tmp_path, out, message):
    repository = fake_repository(tmp_path)
    with pytest.raises(ValueError, match=message):
        check_output_folder(repository, repository / out)
    assert (repository / "book" / "intro.md").is_file()


def test_non_empty_folder_it_did_not_write_is_refused_and_kept(tmp_path):
    repository = fake_repository(tmp_path)
    work = tmp_path / "my_work"
    work.mkdir()
    (work / "thesis.tex").write_text("unsaved", encoding="utf-8")
    with pytest.raises(ValueError, match="no student edition wrote"):
        check_output_folder(repository, work)
    with pytest.raises(SystemExit):
        student_edition_main([str(work), "--repository", str(repository)])
    assert (work / "thesis.tex").read_text(encoding="utf-8") == "unsaved"


def test_readme_command_from_the_root_is_accepted(tmp_path):
    repository = fake_repository(tmp_path)
    assert check_output_folder(repository, repository / "student_site") == repository / "student_site"
    (repository / "empty").mkdir()
    assert check_output_folder(repository, repository / "empty") == repository / "empty"


def test_an_earlier_student_edition_is_replaced_whole(tmp_path):
    site = tmp_path / "built"
    site.mkdir()
    (site / "index.html").write_text("new", encoding="utf-8")
    out = tmp_path / "student_site"
    _replace_folder(site, out)
    assert (out / MARKER).is_file() and (out / "index.html").read_text(encoding="utf-8") == "new"
    (out / "stale.html").write_text("old", encoding="utf-8")
    check_output_folder(fake_repository(tmp_path), out)  # its marker makes it replaceable
    _replace_folder(site, out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "index.html"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
