"""Benchmark: pair counts with Spark MLlib FPGrowth versus prodassoc_lab, on The Complete Journey.

The baskets are those of chapter 2: The Complete Journey as loaded and cleaned by
the package (``prodassoc_lab.datasets.cleaned_complete_journey``), one row per
basket (``basket_matrix``), restricted to the top-k products (``top_products``) or
to all products in at least 5 baskets (``filter_products``). For each selection it
counts every pair bought together in at least 5 baskets twice: with
``prodassoc_lab.rules.pair_statistics`` (one sparse XᵀX) and with
``pyspark.ml.fpm.FPGrowth`` in local mode (``local[2]``), keeping Spark's frequent
itemsets of size 1 and 2. It checks that both give the same pairs with the same
counts (and Spark's single-item counts against the package's), and writes one row
per selection to ``book/results/spark_pairs.csv``; ``tests/test_spark_benchmark.py``
re-checks that file.

Times: the package is the median of 3 runs of ``pair_statistics``; Spark is one
run of ``fit`` plus collecting the itemsets of size ≤ 2. Each Spark run has a fresh
process and JVM; its start-up (JVM and session) and the loading of the baskets
into Spark (Parquet, cached) are timed separately and are not part of
``spark_seconds``. Spark ML's FPGrowth has no maximum itemset length, so it mines
the frequent itemsets of every size to report those of size 2; that is part of
its cost here, and a run that has not finished after ``--spark-timeout`` seconds
is stopped and recorded with ``spark_finished`` False (its comparison columns
then stay empty).

Optional install (not in requirements.txt; the book and its tests do not need it).
Java 17 from Debian, and pyspark into the book's virtual environment (it adds only
py4j)::

    apt-get install -y default-jre-headless
    .venv/bin/pip install pyspark==4.3.0

Run from the repository root::

    .venv/bin/python benchmarks/spark_fpgrowth.py [--sizes 1000 5000 ...] [--spark-timeout 600] [--results FILE.csv]

All products in at least 5 baskets are always added as the last selection.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from prodassoc_lab.cli import check_output, write_table
from prodassoc_lab.data import BasketMatrix, basket_matrix, filter_products, top_products
from prodassoc_lab.datasets import cleaned_complete_journey
from prodassoc_lab.provenance import cpu_model
from prodassoc_lab.rules import pair_statistics

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MIN_COUNT = 5
REPEATS = 3  # the package is timed as the median of this many runs; Spark once
CORES = 2
RESULTS = Path(__file__).resolve().parents[1] / "book" / "results" / "spark_pairs.csv"
RESULT_COLUMNS = [
    "selection",
    "products",
    "baskets",
    "min_count",
    "pairs",
    "mismatches",
    "pairs_equal",
    "item_counts_equal",
    "package_seconds",
    "spark_finished",
    "spark_seconds",
    "ratio",
    "spark_timeout_seconds",
    "spark_startup_seconds",
    "spark_input_seconds",
    "load_average",
    "spark_version",
    "java_version",
    "cpu",
]
PAIR_KEY = ["product_a", "product_b"]


def year_baskets() -> BasketMatrix:
    """All cleaned baskets of The Complete Journey, as chapter 2 builds them."""
    clean, _ = cleaned_complete_journey()
    return basket_matrix(clean)


def select(baskets: BasketMatrix, selection: str) -> BasketMatrix:
    """The products named by ``selection``: ``"top K"`` (``top_products``) or ``"min_baskets K"`` (``filter_products``).

    A selection is stored as text in the results file, so that a test can rebuild its baskets.
    """
    kind, _, number = selection.partition(" ")
    if kind == "top":
        return top_products(baskets, int(number))
    if kind == "min_baskets":
        return filter_products(baskets, int(number))
    raise ValueError(f"unknown selection {selection!r}; expected 'top K' or 'min_baskets K'")


def package_pairs(baskets: BasketMatrix, min_count: int = MIN_COUNT) -> pd.DataFrame:
    """Pairs (``product_a < product_b``) bought together in ``min_count`` or more baskets, with ``count_ab``."""
    return pair_statistics(baskets, min_count)[[*PAIR_KEY, "count_ab"]]


def time_package(baskets: BasketMatrix, min_count: int = MIN_COUNT) -> float:
    """Median wall time of ``pair_statistics`` over ``REPEATS`` runs."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        pair_statistics(baskets, min_count)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def spark_session(driver_memory: str = "4g") -> SparkSession:
    """A local Spark session on ``CORES`` cores, without web UI or console progress bars."""
    with warnings.catch_warnings():
        # pyspark 4.3 warns about pandas 3 on import; this benchmark never converts to or from pandas.
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(f"local[{CORES}]")
            .appName("prodassoc_lab spark_fpgrowth")
            .config("spark.driver.memory", driver_memory)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(CORES))
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def java_version(spark: SparkSession) -> str:
    """The version of the JVM that Spark runs on (which may differ from ``java`` on PATH if JAVA_HOME is set)."""
    return spark.sparkContext._jvm.System.getProperty("java.version")


@dataclass(frozen=True)
class SparkRun:
    """Spark's frequent pairs and items, and the time it took to find them."""

    pairs: pd.DataFrame  # product_a < product_b, count_ab: as package_pairs
    item_counts: pd.Series  # baskets per product, for the products in min_count baskets or more
    input_seconds: float
    seconds: float


def spark_pairs(spark: SparkSession, baskets: BasketMatrix, folder: Path, min_count: int = MIN_COUNT) -> SparkRun:
    """Frequent itemsets of size 1 and 2 with ``pyspark.ml.fpm.FPGrowth``, product ids restored.

    Spark gets the basket matrix itself: each basket is the array of its column
    positions, written as Parquet (read by the JVM itself, with no basket-by-basket
    conversion in Python), split into ``CORES`` partitions so that both cores mine
    (FPGrowth uses the input's partitions), and cached so that the timed part is
    the mining alone.
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    start = time.perf_counter()
    x = baskets.matrix
    items = pa.ListArray.from_arrays(pa.array(x.indptr, pa.int32()), pa.array(x.indices, pa.int32()))
    path = folder / "baskets.parquet"
    pq.write_table(pa.table({"items": items}), path)
    frame = spark.read.parquet(str(path)).repartition(CORES).cache()
    frame.count()
    input_seconds = time.perf_counter() - start

    start = time.perf_counter()
    # Spark keeps itemsets with freq >= ceil(minSupport * n); (k - 1/2)/n makes that exactly k.
    model = FPGrowth(itemsCol="items", minSupport=(min_count - 0.5) / baskets.n_baskets).fit(frame)
    rows = model.freqItemsets.where(F.size("items") <= 2).collect()
    seconds = time.perf_counter() - start
    frame.unpersist()

    singles = [(row["items"][0], row["freq"]) for row in rows if len(row["items"]) == 1]
    positions, counts = np.array(singles, dtype=np.int64).reshape(-1, 2).T
    item_counts = pd.Series(counts, index=baskets.product_ids[positions], name="baskets").sort_index()
    # Spark's itemsets are unordered; sorting the positions gives a < b, as product ids are sorted like positions.
    doubles = np.array([(*sorted(row["items"]), row["freq"]) for row in rows if len(row["items"]) == 2], dtype=np.int64)
    doubles = doubles.reshape(-1, 3)
    pairs = pd.DataFrame(
        {
            "product_a": baskets.product_ids[doubles[:, 0]],
            "product_b": baskets.product_ids[doubles[:, 1]],
            "count_ab": doubles[:, 2],
        }
    )
    return SparkRun(pairs, item_counts, input_seconds, seconds)


def count_mismatches(ours: pd.DataFrame, theirs: pd.DataFrame) -> int:
    """Pairs found by one side only, plus pairs found by both with different counts."""
    merged = ours.merge(theirs, on=PAIR_KEY, how="outer", suffixes=("_ours", "_theirs"), indicator=True)
    one_side = merged["_merge"] != "both"
    different = ~one_side & (merged["count_ab_ours"] != merged["count_ab_theirs"])
    return int(one_side.sum() + different.sum())


def same_item_counts(baskets: BasketMatrix, theirs: pd.Series, min_count: int = MIN_COUNT) -> bool:
    """Whether Spark's frequent single items and their counts equal the package's ``product_counts``."""
    ours = baskets.product_counts()
    ours = ours[ours >= min_count].sort_index()
    return ours.index.equals(theirs.index) and bool((ours.to_numpy() == theirs.to_numpy()).all())


def worker(selection: str, folder: Path, driver_memory: str) -> None:
    """Start Spark, mine one selection, save Spark's pairs and item counts and the times in ``folder``."""
    import pyspark

    subset = select(year_baskets(), selection)
    start = time.perf_counter()
    spark = spark_session(driver_memory)
    startup = time.perf_counter() - start
    try:
        # Written before mining, so that a run stopped at the time-out still records its set-up.
        session = {"spark_version": pyspark.__version__, "java_version": java_version(spark),
                   "spark_startup_seconds": startup}
        (folder / "session.json").write_text(json.dumps(session))
        run = spark_pairs(spark, subset, folder)
    finally:
        spark.stop()
    run.pairs.to_parquet(folder / "pairs.parquet")
    run.item_counts.to_frame().to_parquet(folder / "items.parquet")
    timings = {"spark_input_seconds": run.input_seconds, "spark_seconds": run.seconds}
    (folder / "run.json").write_text(json.dumps(timings))


def measure_spark(selection: str, folder: Path, driver_memory: str, timeout: float) -> dict:
    """Run :func:`worker` in a fresh process (and JVM).

    Without ``spark_seconds`` when stopped after ``timeout`` seconds.
    """
    # A session of its own, so that on time-out the whole group (Python and its JVM) can be ended at once.
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", selection, str(folder), "--driver-memory", driver_memory],
        start_new_session=True,
    )
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    else:
        if process.returncode:
            raise RuntimeError(f"the Spark worker for {selection!r} failed with exit status {process.returncode}")
    return {
        name: value
        for part in ("session.json", "run.json") if (folder / part).is_file()
        for name, value in json.loads((folder / part).read_text()).items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 5000],
                        help=f"numbers of top products (all products in >= {MIN_COUNT} baskets are always added)")
    parser.add_argument("--spark-timeout", type=float, default=600,
                        help="seconds after which a Spark worker process (start-up included) is stopped and its run "
                             "recorded as unfinished (default: %(default)s)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="CSV file to write (default: %(default)s)")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (default: %(default)s)")
    parser.add_argument("--worker", nargs=2, metavar=("SELECTION", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), args.driver_memory)
        return
    args.results.parent.mkdir(parents=True, exist_ok=True)
    check_output(parser, "--results", args.results, ".csv")

    baskets = year_baskets()
    rows = []
    for selection in [f"top {k}" for k in args.sizes] + [f"min_baskets {MIN_COUNT}"]:
        subset = select(baskets, selection)
        ours = package_pairs(subset)
        row = {
            "selection": selection,
            "products": subset.n_products,
            "baskets": subset.n_baskets,
            "min_count": MIN_COUNT,
            "pairs": len(ours),
            "package_seconds": time_package(subset),
            "spark_timeout_seconds": args.spark_timeout,
            "load_average": os.getloadavg()[0],
            "cpu": cpu_model(),
        }
        with tempfile.TemporaryDirectory() as tmp:
            spark = measure_spark(selection, Path(tmp), args.driver_memory, args.spark_timeout)
            row |= spark | {"spark_finished": "spark_seconds" in spark}
            if row["spark_finished"]:
                theirs = pd.read_parquet(Path(tmp) / "pairs.parquet")
                items = pd.read_parquet(Path(tmp) / "items.parquet")["baskets"]
                mismatches = count_mismatches(ours, theirs)
                row |= {
                    "mismatches": mismatches,
                    "pairs_equal": mismatches == 0,
                    "item_counts_equal": same_item_counts(subset, items),
                    "ratio": spark["spark_seconds"] / row["package_seconds"],
                }
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)
    write_table(table, args.results, float_format="%.4g")
    print(f"\nPairs in >= {MIN_COUNT} baskets: package (median of {REPEATS})"
          f" vs Spark FPGrowth local[{CORES}] (one run);"
          " load_average = 1-min load average before the Spark run")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3g}"))
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
