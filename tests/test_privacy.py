"""Unicity: exact on traces whose answer is known, unbiased against an enumeration of every k-subset."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from prodassoc_lab.privacy import trace_matrix, unicity
from prodassoc_lab.validation import MissingColumnError


def _lines(traces: dict[int, list]) -> pd.DataFrame:
    rows = [(h, p) for h, products in traces.items() for p in products]
    return pd.DataFrame(rows, columns=["household_id", "product_id"])


def test_known_answers():
    # Disjoint traces: every household is alone with any of its points.
    disjoint = _lines({1: ["a", "b"], 2: ["c", "d"], 3: ["e", "f", "e"]})
    assert unicity(disjoint, ["product_id"], 1).share == 1.0
    # Identical traces: nobody is ever singled out.
    same = _lines({1: ["a", "b"], 2: ["b", "a"]})
    assert unicity(same, ["product_id"], 2).share == 0.0
    # Nested traces: only household 2 has three points, and they are its alone.
    nested = _lines({1: ["a", "b"], 2: ["a", "b", "c"]})
    result = unicity(nested, ["product_id"], 3)
    assert (result.n_households, result.n_eligible, result.n_unique) == (2, 1, 1)
    # A repeated purchase is one point: household 1 has two points, not three.
    assert unicity(_lines({1: ["a", "a", "b"], 2: ["c"]}), ["product_id"], 3).n_eligible == 0


def test_points_of_two_columns_are_pairs():
    lines = pd.DataFrame({"household_id": [1, 1, 2, 2], "product_id": ["a", "a", "a", "b"], "week": [1, 2, 1, 1]})
    matrix = trace_matrix(lines, ["product_id", "week"])
    assert matrix.shape == (2, 3)  # (a, 1), (a, 2), (b, 1)
    assert unicity(lines, ["product_id"], 1).n_households == 2
    # By product alone household 1 ({a}) is inside household 2's trace; by (product, week) it is not.
    assert unicity(lines, ["product_id", "week"], 2).share == 1.0


def _exact_expected_share(traces: dict[int, set], k: int) -> float:
    """Mean over eligible households of the share of their k-subsets no other trace holds."""
    shares = []
    for h, trace in traces.items():
        if len(trace) < k:
            continue
        subsets = list(combinations(sorted(trace), k))
        alone = sum(all(not set(s) <= other for g, other in traces.items() if g != h) for s in subsets)
        shares.append(alone / len(subsets))
    return float(np.mean(shares))


def test_unbiased_against_enumeration():
    rng = np.random.default_rng(7)
    traces = {h: set(rng.choice(30, size=rng.integers(1, 12), replace=False).tolist()) for h in range(200)}
    lines = _lines({h: list(t) for h, t in traces.items()})
    for k in (1, 2, 3):
        expected = _exact_expected_share(traces, k)
        results = [unicity(lines, ["product_id"], k, seed=s) for s in range(20)]
        draws = sum(r.n_eligible for r in results)
        mean = sum(r.n_unique for r in results) / draws
        standard_error = np.sqrt(expected * (1 - expected) / draws)
        assert abs(mean - expected) < 4 * standard_error + 1e-12, (k, mean, expected)


def test_same_seed_same_answer_and_seed_matters():
    rng = np.random.default_rng(1)
    lines = _lines({h: rng.choice(40, size=8, replace=False).tolist() for h in range(100)})
    assert unicity(lines, ["product_id"], 2, seed=3) == unicity(lines, ["product_id"], 2, seed=3)
    assert len({unicity(lines, ["product_id"], 2, seed=s).n_unique for s in range(5)}) > 1


def test_bad_inputs():
    lines = _lines({1: ["a", "b"], 2: ["c"]})
    with pytest.raises(MissingColumnError, match="week"):
        unicity(lines, ["product_id", "week"], 1)
    with pytest.raises(TypeError, match="list of column names"):
        unicity(lines, "product_id", 1)
    with pytest.raises(ValueError, match="twice"):
        unicity(lines, ["product_id", "product_id"], 1)
    with pytest.raises(ValueError, match="k"):
        unicity(lines, ["product_id"], 0)
    with pytest.raises(ValueError, match="no rows"):
        unicity(lines.iloc[:0], ["product_id"], 1)
    with pytest.raises(ValueError, match=r"\['product_id'\] hold missing values"):
        unicity(lines.assign(product_id=[None, "b", "c"]), ["product_id"], 1)
