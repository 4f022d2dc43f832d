"""The provenance record written beside every results file and weights file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from prodassoc_lab import provenance as provenance_module
from prodassoc_lab.cli import write_table
from prodassoc_lab.provenance import provenance, provenance_path, write_provenance

RESULTS = Path(__file__).resolve().parent.parent / "book" / "results"
FIELDS = {"git", "python", "libraries", "command", "cpu", "logical_cpus", "platform", "written_at"}


def test_fields_present():
    record = provenance(["python", "-m", "prodassoc_lab.links", "--seed", "0"])
    assert FIELDS <= set(record)
    assert record["command"] == ["python", "-m", "prodassoc_lab.links", "--seed", "0"]
    assert set(record["libraries"]) == {"torch", "torch_geometric", "numpy", "scipy", "pandas", "scikit-learn"}
    assert record["libraries"]["numpy"] and record["libraries"]["torch"]
    assert record["cpu"].strip() and record["logical_cpus"] >= 1
    assert set(record["git"]) == {"commit", "dirty"}
    json.dumps(record)  # all of it is JSON


def test_command_defaults_to_argv(monkeypatch):
    monkeypatch.setattr("sys.argv", ["script.py", "--flag"])
    assert provenance()["command"] == ["script.py", "--flag"]


def test_written_beside_the_file_with_its_hash(tmp_path):
    results = tmp_path / "table.csv"
    write_table(pd.DataFrame({"a": [1.0, 2.0]}), results)
    record = json.loads(provenance_path(results).read_text(encoding="utf-8"))
    assert provenance_path(results).name == "table.csv.provenance.json"
    assert record["file"] == "table.csv"
    assert record["sha256"] == hashlib.sha256(results.read_bytes()).hexdigest()
    assert FIELDS <= set(record)


def test_atomic_a_failed_write_keeps_the_previous_record(tmp_path, monkeypatch):
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"weights")
    write_provenance(weights, ["first"])
    before = provenance_path(weights).read_text(encoding="utf-8")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        write_provenance(weights, ["second"])
    monkeypatch.undo()
    assert provenance_path(weights).read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "model.pt.provenance.json"]  # no temporary


def test_extra_fields(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("a\n1\n")
    write_provenance(path, ["made", "earlier"], extra={"recorded_after": True})
    assert json.loads(provenance_path(path).read_text(encoding="utf-8"))["recorded_after"] is True


def test_works_outside_a_git_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setattr(provenance_module, "SOURCE", tmp_path)
    assert provenance([])["git"] == {"commit": None, "dirty": None}
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program at all
    assert provenance([])["git"] == {"commit": None, "dirty": None}


def test_every_committed_results_file_has_its_record():
    files = sorted(RESULTS.glob("*.csv")) + sorted((RESULTS / "weights").glob("*.pt"))
    assert files
    for path in files:
        record = json.loads(provenance_path(path).read_text(encoding="utf-8"))
        assert record["file"] == path.name and record["command"], path
        assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), (
            f"{path.name} changed after its provenance record was written; rewrite the record")
