"""The student edition: the book's site and notebooks without the worked solutions.

Every chapter gives each exercise a worked solution between a ``{solution-start}``
and a ``{solution-end}`` directive of sphinx-exercise, its cells tagged
``solution``. ``python -m prodassoc_lab.tools.student_edition OUT`` copies the book to
a temporary folder, removes those cells from every notebook, builds the site
there with sphinx-exercise's ``hide_solutions`` on, checks that nothing of a
solution is left in the HTML or in the downloadable notebooks, and only then puts
the site at ``OUT`` (a new or empty folder, or an earlier student edition, which it
replaces; never the repository or a folder holding it). The teacher's edition is the ordinary build (README).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

SOLUTION_TAG = "solution"
START, END = "{solution-start}", "{solution-end}"
#: Text that appears only in solutions: their cells' first lines and prose openings, and
#: sphinx-exercise's solution boxes.
LEAK_MARKERS = ("# Solution ", "Solution ", 'class="solution')


def _is_marker(cell: nbformat.NotebookNode, marker: str) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip("`: \n").startswith(marker)


def strip_solutions(notebook: nbformat.NotebookNode, name: str = "notebook") -> int:
    """Remove every solution cell from ``notebook`` in place; return how many cells went.

    A solution is the run of cells from a ``{solution-start}`` marker cell to the
    next ``{solution-end}`` one, both included; any other cell tagged ``solution``
    goes too. An unclosed or nested start raises ``ValueError`` naming the
    notebook, since a stray marker would hide the rest of the chapter.
    """
    kept, inside, removed = [], False, 0
    for index, cell in enumerate(notebook.cells):
        if _is_marker(cell, START):
            if inside:
                raise ValueError(f"{name}: cell {index} opens a solution inside another one")
            inside = True
        if inside or SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            removed += 1
        else:
            kept.append(cell)
        if _is_marker(cell, END):
            if not inside:
                raise ValueError(f"{name}: cell {index} closes a solution that was never opened")
            inside = False
    if inside:
        raise ValueError(f"{name}: a solution is opened and never closed")
    notebook.cells = kept
    return removed


def solution_leaks(site: Path) -> list[str]:
    """Pages and downloadable notebooks of a built site that still contain a solution marker."""
    leaks = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        leaks += [f"{page.relative_to(site)}: {marker!r}" for marker in LEAK_MARKERS[2:] if marker in text]
    for notebook in sorted(site.rglob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        for cell in cells:
            tagged = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
            if tagged or any(cell.source.lstrip("*").startswith(m) for m in LEAK_MARKERS[:2]) or \
                    _is_marker(cell, START):
                leaks.append(f"{notebook.relative_to(site)}: a solution cell ({cell.source[:40]!r})")
    return leaks


#: A file the student edition leaves in its output folder, so that a later build may replace
#: that folder (and no other non-empty one).
MARKER = ".student_edition"


def check_output_folder(repository: Path, out: Path) -> Path:
    """Return ``out`` resolved if the student site may be written there, else raise ``ValueError``.

    Refused, before any work: the repository itself or a folder that contains it (replacing
    it would delete the checkout), a folder inside the book's sources, a path that is a file,
    an existing non-empty folder that an earlier student edition did not write (it holds no
    ``.student_edition`` marker), and a parent folder that does not exist or is not writable.
    """
    repository, out = Path(repository).resolve(), Path(out).resolve()
    missing = [name for name in ("book", "_toc.yml", "_config.yml") if not (repository / name).exists()]
    if missing:
        raise ValueError(f"repository {repository} is not the book's repository: it lacks {missing}")
    if out == repository or out in repository.parents:
        raise ValueError(f"out {out} contains the repository {repository}; replacing it would delete the "
                         "checkout: choose a new folder, e.g. student_site")
    if out == repository / "book" or (repository / "book") in out.parents:
        raise ValueError(f"out {out} lies inside the book's sources; choose a folder outside book/")
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"out {out} is a non-empty folder that no student edition wrote; "
                         "empty it or choose a new folder (nothing was deleted)")
    if not out.parent.is_dir():
        raise ValueError(f"out {out}: its parent folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ValueError(f"out {out}: its parent folder {out.parent} is not writable")
    return out


def _replace_folder(site: Path, out: Path) -> None:
    """Put a copy of ``site`` at ``out`` so that ``out`` is never half written.

    The copy is made beside ``out`` and renamed into place; an earlier student edition
    at ``out`` is moved aside first and removed only once the new one stands.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shutil.copytree(site, staging / "site")
        (staging / "site" / MARKER).write_text("written by python -m prodassoc_lab.tools.student_edition\n",
                                               encoding="utf-8")
        if out.exists():
            out.rename(staging / "previous")
        (staging / "site").rename(out)
    finally:
        shutil.rmtree(staging)


def build_student_edition(repository: Path, out: Path) -> Path:
    """Build the student edition of the book in ``repository`` into ``out`` and check it; return ``out``.

    ``out`` is checked first (:func:`check_output_folder`); it is replaced only once the new
    site is built and found free of solutions.
    """
    repository = Path(repository).resolve()
    out = check_output_folder(repository, out)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shutil.copytree(repository / "book", work / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        shutil.copy(repository / "_toc.yml", work / "_toc.yml")
        config = yaml.safe_load((repository / "_config.yml").read_text(encoding="utf-8"))
        config["title"] = f"{config['title']} (student edition)"
        config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
        (work / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        removed = 0
        for path in sorted((work / "book").glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            removed += strip_solutions(notebook, path.name)
            nbformat.write(notebook, path)
        jupyter_book = Path(sys.executable).with_name("jupyter-book")  # the venv's, beside its Python
        subprocess.run([str(jupyter_book), "build", "--all", "-W", "-n", "--keep-going", str(work)], check=True)
        leaks = solution_leaks(work / "_build" / "html")
        if leaks:
            raise RuntimeError("the student edition still shows solutions:\n" + "\n".join(leaks[:20]))
        _replace_folder(work / "_build" / "html", out)
    print(f"student edition: {removed} solution cells removed; site in {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the student site: new, empty, or an earlier "
                        "student edition (which is replaced); never the repository or a folder holding it")
    parser.add_argument("--repository", type=Path, default=Path.cwd(), help="the book's repository (default: here)")
    args = parser.parse_args(argv)
    try:
        check_output_folder(args.repository, args.out)
    except ValueError as error:
        parser.error(str(error))
    build_student_edition(args.repository, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
