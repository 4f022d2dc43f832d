"""The Spark FPGrowth benchmark's results file: still true for the package now, and (with Spark) reproducible.

The first test always runs: it needs only the package and the committed file.
Runs that Spark did not finish within the benchmark's time-out are rows with
``spark_finished`` False: their pair count is still checked against the package.
The second needs the optional pyspark and Java (see the module docstring of
``benchmarks/spark_fpgrowth.py``) and is skipped without them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from prodassoc_lab.rules import pair_statistics

ROOT = Path(__file__).resolve().parents[1]
SPARK_SELECTION = "top 1000"  # the smallest selection: Spark needs the least time on it


def _load_benchmark():
    # benchmarks/ is not a package; loading the script by path reuses its basket selection and comparison.
    spec = importlib.util.spec_from_file_location("spark_fpgrowth", ROOT / "benchmarks" / "spark_fpgrowth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    assert bench.RESULTS.is_file(), f"{bench.RESULTS} is missing; run benchmarks/spark_fpgrowth.py"
    return pd.read_csv(bench.RESULTS)


@pytest.fixture(scope="module")
def year_baskets():
    return bench.year_baskets()


@pytest.mark.real_data
def test_results_file_matches_package_now(results, year_baskets):
    assert list(results.columns) == bench.RESULT_COLUMNS
    assert f"min_baskets {bench.MIN_COUNT}" in set(results.selection), "the full data must be measured"
    assert results.spark_finished.dtype == bool
    finished = results[results.spark_finished]
    assert SPARK_SELECTION in set(finished.selection), "the Spark test needs its reference row"
    # Empty cells (unfinished runs) make these columns object-typed, hence eq(True) rather than all().
    assert finished.pairs_equal.eq(True).all() and finished.item_counts_equal.eq(True).all()
    assert (finished.mismatches == 0).all()
    unfinished = results[~results.spark_finished]
    assert unfinished[["mismatches", "pairs_equal", "spark_seconds"]].isna().all().all()
    for row in results.itertuples():
        subset = bench.select(year_baskets, row.selection)
        assert (subset.n_products, subset.n_baskets) == (row.products, row.baskets), row.selection
        assert len(pair_statistics(subset, row.min_count)) == row.pairs, row.selection


def _java_found() -> bool:
    # pyspark starts $JAVA_HOME/bin/java when JAVA_HOME is set, else java from PATH.
    home = os.environ.get("JAVA_HOME")
    return Path(home, "bin", "java").is_file() if home else shutil.which("java") is not None


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is optional; benchmarks/spark_fpgrowth.py says how to install it")
    if not _java_found():
        pytest.skip("no Java (JAVA_HOME or java on PATH); Spark needs it: apt-get install -y default-jre-headless")
    session = bench.spark_session()
    yield session
    session.stop()


@pytest.mark.real_data
def test_spark_pair_counts_equal_package_and_results_file(spark, results, year_baskets, tmp_path):
    subset = bench.select(year_baskets, SPARK_SELECTION)
    run = bench.spark_pairs(spark, subset, tmp_path)
    ours = bench.package_pairs(subset)
    assert bench.count_mismatches(ours, run.pairs) == 0
    assert bench.same_item_counts(subset, run.item_counts)
    row = results.set_index("selection").loc[SPARK_SELECTION]
    assert (len(run.pairs), subset.n_products, subset.n_baskets) == (row.pairs, row.products, row.baskets)
