"""Measure how far the notebooks' trained results move between numeric set-ups (README, "How the notebooks are tested").

Runs each notebook once per set-up (CPU kernel family, MKL code path, thread
count), with ``PRODASSOC_LAB_RECORD`` set so that every ``check_close`` writes
the value it checked, and prints, per checked number, the spread over the
set-ups beside the notebook's tolerance. A tolerance should be at least the
spread (or the check fails somewhere) and at most three times it (or the check
is too loose to mean anything). Cells that raised under a set-up are listed.

    .venv/bin/python benchmarks/tolerance_spread.py book/06_self_attention.ipynb book/07_training_script.ipynb
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

SETUPS = {
    "native, 1 thread": {},
    "native, 2 threads": {"PRODASSOC_LAB_THREADS": "2"},
    "AVX2, 1 thread": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "AVX2, 2 threads": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "PRODASSOC_LAB_THREADS": "2"},
    "default, 1 thread": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1"},
    "default, 2 threads": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "PRODASSOC_LAB_THREADS": "2"},
}


def run(notebook: Path, setup: dict[str, str], record: Path) -> list[str]:
    """Execute ``notebook`` in a kernel with ``setup`` in its environment; return the errors raised."""
    saved = dict(os.environ)
    os.environ.update(setup)
    os.environ["PRODASSOC_LAB_RECORD"] = str(record)
    try:
        nb = nbformat.read(notebook, as_version=4)
        NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [f"{notebook.name} code cell {n}: {out.ename}: {out.evalue[:200]}"
            for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code")
            for out in cell.get("outputs", []) if out.output_type == "error"
            and "raises-exception" not in cell.metadata.get("tags", [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    parser.add_argument("--json", type=Path, help="also write every recorded value to this file")
    args = parser.parse_args()
    rows, errors = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.setups:
            for notebook in args.notebooks:
                record = Path(folder) / f"{notebook.stem}-{len(rows)}.jsonl"
                errors += [f"[{name}] {e}" for e in run(notebook.resolve(), SETUPS[name], record)]
                if record.exists():
                    rows += [{"setup": name, "notebook": notebook.stem, **json.loads(line)}
                             for line in record.read_text().splitlines()]
                print(f"done: {name}, {notebook.name}", flush=True)
    table = pd.DataFrame(rows)
    if args.json:
        table.to_json(args.json, orient="records", indent=1)
    spread = table.groupby(["notebook", "what"], sort=False).agg(
        reference=("reference", "first"), tol=("tol", "first"), low=("value", "min"), high=("value", "max"),
        setups=("setup", "nunique"))
    spread["spread"] = spread.high - spread.low
    spread["tol / spread"] = spread.tol / spread.spread.where(spread.spread > 0)
    with pd.option_context("display.width", 200, "display.max_rows", None, "display.max_colwidth", 70):
        print(spread.round(4).to_string())
    print("\n".join(["cells that raised:"] + errors) if errors else "no cell raised under any set-up")


if __name__ == "__main__":
    main()
