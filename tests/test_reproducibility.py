"""Seeds, the thread setting and the tolerance check that the notebooks' trained results go through."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from prodassoc_lab.reproducibility import BOOK_THREADS, book_threads, check_close, set_seed


def test_set_seed_repeats_torch_draws_and_sets_the_book_thread_count(monkeypatch):
    monkeypatch.delenv("PRODASSOC_LAB_THREADS", raising=False)
    torch.set_num_threads(2)
    set_seed(3)
    first = torch.rand(4)
    assert torch.get_num_threads() == BOOK_THREADS
    set_seed(3)
    assert torch.equal(torch.rand(4), first)


@pytest.mark.parametrize(("text", "threads"), [("", BOOK_THREADS), ("2", 2), (" 3 ", 3)])
def test_thread_count_can_be_overridden(monkeypatch, text, threads):
    monkeypatch.setenv("PRODASSOC_LAB_THREADS", text)
    assert book_threads() == threads


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_is_refused_by_name(monkeypatch, text):
    monkeypatch.setenv("PRODASSOC_LAB_THREADS", text)
    with pytest.raises(ValueError, match="PRODASSOC_LAB_THREADS"):
        book_threads()


def test_check_close_passes_within_the_tolerance_and_names_the_number_outside_it():
    check_close(0.452, 0.453, tol=0.002, what="GCN accuracy")
    with pytest.raises(AssertionError, match=r"GCN accuracy: 0\.45 differs from the stored run's 0\.453 by 0\.003"):
        check_close(0.450, 0.453, tol=0.002, what="GCN accuracy")


def test_check_close_compares_mappings_name_by_name():
    check_close(pd.Series({"mlp": 0.36, "gcn": 0.45}), {"gcn": 0.451, "mlp": 0.361}, tol=0.005, what="accuracy")
    with pytest.raises(AssertionError, match=r"accuracy \[gcn\]"):
        check_close({"mlp": 0.36, "gcn": 0.40}, {"mlp": 0.36, "gcn": 0.45}, tol=0.005, what="accuracy")
    with pytest.raises(AssertionError, match=r"missing \['sage'\]"):
        check_close({"mlp": 0.36}, {"mlp": 0.36, "sage": 0.49}, tol=0.005, what="accuracy")
    for value, reference in ((0.36, {"mlp": 0.36}), ({"mlp": 0.36}, 0.36)):
        with pytest.raises(TypeError, match="accuracy: compare a mapping with a mapping"):
            check_close(value, reference, tol=0.005, what="accuracy")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_check_close_refuses_a_non_finite_result(value):
    with pytest.raises(AssertionError, match="not a finite number"):
        check_close(value, 0.5, tol=1.0, what="loss")


@pytest.mark.parametrize("tol", [-0.1, float("nan"), "0.1", True])
def test_check_close_refuses_a_bad_tolerance(tol):
    with pytest.raises(ValueError, match="tol must be"):
        check_close(0.5, 0.5, tol=tol, what="loss")


def test_check_close_records_each_comparison_when_asked(monkeypatch, tmp_path):
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("PRODASSOC_LAB_RECORD", str(record))
    check_close({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.1}, tol=0.2, what="x")
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(r["what"], r["value"], r["reference"], r["tol"]) for r in rows] == [("x [a]", 1.0, 1.0, 0.2),
                                                                               ("x [b]", 2.0, 2.1, 0.2)]


def test_check_close_refuses_a_non_finite_reference():
    with pytest.raises(ValueError, match="stored reference must be a finite number"):
        check_close(0.5, float("nan"), tol=0.1, what="accuracy")
