"""Check an installed ``prodassoc_lab`` (``pip install .`` into a fresh venv): every module imports.

Usage: ``python tests/check_install.py VENV_PYTHON`` where ``VENV_PYTHON`` is the Python of a
virtual environment into which the package was installed with ``pip install .`` (not ``-e``).
CI (``.ci/run``, step "packaging") creates that venv from nothing, so the check proves that
``pyproject.toml`` names every subpackage and every runtime dependency:

* every module of the installed package (``pkgutil.walk_packages``, ``__main__`` modules
  skipped: they run a command) imports, from the venv's site-packages, not from this checkout;
* every ``.py`` file of the checkout's ``prodassoc_lab/`` is in the installed package;
* every third-party module the package imports anywhere (also inside functions) can be found
  in the venv, except those of the ``book`` extra (myst-nb, matplotlib-inline);
* the console scripts of ``[project.scripts]`` are installed and their functions load.

Prints one line per part and the time taken; exits 1 on any failure.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run by the venv's Python, in an empty folder so that this checkout is not on sys.path.
PROBE = r'''
import ast, importlib, importlib.metadata, importlib.util, json, pkgutil, sys, time
start = time.perf_counter()
import prodassoc_lab
failures, modules = [], ["prodassoc_lab"]
for info in pkgutil.walk_packages(prodassoc_lab.__path__, "prodassoc_lab.",
                                  onerror=lambda name: failures.append(f"{name}: cannot walk")):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failures.append(f"{info.name}: {type(exc).__name__}: {exc}")
    modules.append(info.name)
seconds = time.perf_counter() - start
package_dir = prodassoc_lab.__path__[0]
files = sorted(str(p.relative_to(package_dir)) for p in __import__("pathlib").Path(package_dir).rglob("*.py"))
third_party = set()
for name in files:
    tree = ast.parse((__import__("pathlib").Path(package_dir) / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            third_party.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            third_party.add(node.module.split(".")[0])
third_party -= set(sys.stdlib_module_names) | {"prodassoc_lab", "__future__"}
missing = sorted(name for name in third_party if importlib.util.find_spec(name) is None)
scripts = {}
for entry in importlib.metadata.entry_points(group="console_scripts"):
    if entry.name.startswith("prodassoc-"):
        try:
            entry.load()
            scripts[entry.name] = entry.value
        except Exception as exc:
            failures.append(f"console script {entry.name} = {entry.value}: {type(exc).__name__}: {exc}")
print(json.dumps({"package_dir": package_dir, "modules": modules, "failures": failures, "seconds": seconds,
                  "files": files, "third_party": sorted(third_party), "missing": missing, "scripts": scripts}))
'''

# Imported only inside functions that run in a notebook or a book build: the `book` extra.
BOOK_EXTRA = {"myst_nb", "matplotlib_inline"}
SCRIPTS = {
    "prodassoc-nodes": "prodassoc_lab.nodes.cli:main",
    "prodassoc-links": "prodassoc_lab.links.cli:main",
    "prodassoc-next-basket": "prodassoc_lab.next_basket.cli:main",
    "prodassoc-student-edition": "prodassoc_lab.tools.student_edition:main",
}


def main(argv: list[str]) -> int:
    import json

    if len(argv) != 1:
        print(__doc__)
        return 2
    python = Path(argv[0])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as empty:
        done = subprocess.run([str(python), "-I", "-c", PROBE], cwd=empty, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"FAIL: the probe failed in {python}:\n{done.stdout}{done.stderr}")
        return 1
    report = json.loads(done.stdout.strip().splitlines()[-1])
    problems = list(report["failures"])
    package_dir = Path(report["package_dir"])
    if ROOT in package_dir.resolve().parents:
        problems.append(f"prodassoc_lab was imported from this checkout ({package_dir}), not from the venv")
    ours = sorted(str(p.relative_to(ROOT / "prodassoc_lab")) for p in (ROOT / "prodassoc_lab").rglob("*.py"))
    left_out = sorted(set(ours) - set(report["files"]))
    if left_out:
        problems.append(f"not installed (a subpackage missing from pyproject.toml?): {', '.join(left_out)}")
    missing = sorted(set(report["missing"]) - BOOK_EXTRA)
    if missing:
        problems.append(f"imported by the package but not installed (add to dependencies): {', '.join(missing)}")
    for name, target in SCRIPTS.items():
        if report["scripts"].get(name) != target:
            problems.append(f"console script {name} should be {target}, found {report['scripts'].get(name)}")
        if not (python.parent / name).exists():
            problems.append(f"console script {name} not in {python.parent}")
    print(f"imported {len(report['modules'])} modules of prodassoc_lab from {package_dir} "
          f"in {report['seconds']:.1f} s")
    print(f"third-party modules it imports: {', '.join(report['third_party'])}; "
          f"not installed: {', '.join(report['missing']) or 'none'} (allowed: the book extra's {sorted(BOOK_EXTRA)})")
    print(f"console scripts: {', '.join(sorted(report['scripts']))}")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"check took {time.perf_counter() - start:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
