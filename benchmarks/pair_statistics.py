"""Benchmark: all pair statistics with prodassoc_lab versus mlxtend, on The Complete Journey.

For the top 1k, 5k and 20k products and for all products in at least 5 baskets,
computes every pair bought together in at least 5 baskets, with
``prodassoc_lab.rules.pair_statistics`` (one sparse XᵀX) and with mlxtend
(``fpgrowth(max_len=2)`` + ``association_rules``) at the same threshold, checks
that both give the same rules and numbers, and prints time, peak memory and the
ratio. Each measurement runs in a fresh process so that its peak memory is its own.

Run from the repository root:  python benchmarks/pair_statistics.py [--sizes 1000 5000 ...]
mlxtend needs minutes on the largest sizes; --skip-mlxtend-above N skips it there.
--results FILE.csv writes one row per size, with the CPU and the date (the book's
performance page reads book/results/pair_statistics.csv, made this way).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

MIN_COUNT = 5
REPEATS = 3  # the package is timed as the median of this many runs; mlxtend once


def worker(method: str, folder: Path) -> None:
    """Load one basket matrix, run one method, print time / memory as JSON, save the rules."""
    from prodassoc_lab.data import BasketMatrix
    from prodassoc_lab.rules import directed_rules, pair_statistics
    from prodassoc_lab.tools.measure import peak_rss_growth

    matrix = sp.csr_array(sp.load_npz(folder / "matrix.npz"))
    ids = pd.Index(np.load(folder / "product_ids.npy"))
    baskets = BasketMatrix(matrix, pd.RangeIndex(matrix.shape[0]), ids)
    if method == "mlxtend":
        from mlxtend.frequent_patterns import association_rules, fpgrowth

        onehot = pd.DataFrame(matrix.toarray().astype(bool), columns=ids.astype(str))

    def run() -> tuple[list[float], pd.DataFrame]:
        times = []
        for _ in range(REPEATS if method == "package" else 1):
            start = time.perf_counter()
            if method == "package":
                rules = directed_rules(pair_statistics(baskets, MIN_COUNT))
            else:
                n = matrix.shape[0]
                # (k - 1/2)/n: mlxtend's ceil(min_support * n) is then exactly k (see chapter 2).
                frequent = fpgrowth(onehot, min_support=(MIN_COUNT - 0.5) / n, use_colnames=True, max_len=2)
                rules = association_rules(frequent, num_itemsets=n, metric="support", min_threshold=0.0)
                rules = rules.assign(
                    antecedent=rules.antecedents.map(lambda s: int(next(iter(s)))),
                    consequent=rules.consequents.map(lambda s: int(next(iter(s)))),
                )
            times.append(time.perf_counter() - start)
        return times, rules

    # loading the input does not count: the peak is reset just before the runs
    (times, rules), peak_bytes = peak_rss_growth(run)
    columns = ["antecedent", "consequent", "support", "confidence", "lift", "leverage", "conviction", "jaccard"]
    rules[columns].to_parquet(folder / f"{method}.parquet")
    print(json.dumps({"seconds": float(np.median(times)), "peak_mib": peak_bytes / 2**20, "rules": len(rules)}))


def measure(method: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(folder)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_rules(folder: Path) -> float:
    """Largest relative difference between the two methods' numbers; raises if rules differ."""
    ours = pd.read_parquet(folder / "package.parquet")
    theirs = pd.read_parquet(folder / "mlxtend.parquet")
    merged = ours.merge(theirs, on=["antecedent", "consequent"], suffixes=("", "_mlx"), validate="one_to_one")
    if not len(merged) == len(ours) == len(theirs):
        raise AssertionError(f"different rules: {len(ours)} vs {len(theirs)}, {len(merged)} in common")
    worst = 0.0
    for col in ["support", "confidence", "lift", "leverage", "conviction", "jaccard"]:
        a, b = merged[col].to_numpy(), merged[f"{col}_mlx"].to_numpy()
        finite = np.isfinite(a) & np.isfinite(b)
        if not (np.isinf(a) == np.isinf(b)).all():
            raise AssertionError(f"{col}: infinite values differ")
        scale = np.maximum(np.abs(b[finite]), 1e-300)
        worst = max(worst, float(np.max(np.abs(a[finite] - b[finite]) / scale)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 5000, 20000],
                        help="numbers of top products (all products with >= 5 baskets are always added)")
    parser.add_argument("--skip-mlxtend-above", type=int, default=None,
                        help="do not run mlxtend on more products than this")
    parser.add_argument("--results", type=Path, default=None,
                        help="also write the table to this CSV file (book/results/pair_statistics.csv)")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return
    from prodassoc_lab.cli import check_output

    check_output(parser, "--results", args.results, ".csv")

    from prodassoc_lab.data import (
        basket_matrix,
        clean_transactions,
        filter_products,
        load_complete_journey,
        top_products,
    )

    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    baskets = basket_matrix(clean)
    frequent = filter_products(baskets, MIN_COUNT)
    cases = [(f"top {k:,}", top_products(baskets, k)) for k in args.sizes]
    cases.append((f"all >= {MIN_COUNT} baskets ({frequent.n_products:,})", frequent))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, subset in cases:
            folder = Path(tmp) / name.replace(" ", "_").replace(">=", "ge").replace(",", "")
            folder.mkdir()
            sp.save_npz(folder / "matrix.npz", sp.csr_matrix(subset.matrix))
            np.save(folder / "product_ids.npy", subset.product_ids.to_numpy())
            ours = measure("package", folder)
            row = {
                "products": name,
                "n_products": subset.n_products,
                "baskets": subset.n_baskets,
                "rules": ours["rules"],
                "package s": ours["seconds"],
                "package MiB": ours["peak_mib"],
            }
            if args.skip_mlxtend_above is None or subset.n_products <= args.skip_mlxtend_above:
                theirs = measure("mlxtend", folder)
                row |= {
                    "mlxtend s": theirs["seconds"],
                    "mlxtend MiB": theirs["peak_mib"],
                    "speed-up": theirs["seconds"] / ours["seconds"],
                    "max rel diff": same_rules(folder),
                }
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(f"\nPair statistics, min count {MIN_COUNT}, {baskets.n_baskets:,} baskets; "
          f"package time = median of {REPEATS} runs, mlxtend one run; memory = peak RSS above the loaded data")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3g}"))
    if args.results is not None:
        write_results(table, args.results)


def write_results(table: pd.DataFrame, path: Path) -> None:
    """The printed table as a tidy CSV (snake-case columns), with the settings, the CPU and the date."""
    from prodassoc_lab.cli import write_table
    from prodassoc_lab.provenance import cpu_model

    names = {"package s": "package_seconds", "package MiB": "package_peak_mib", "mlxtend s": "mlxtend_seconds",
             "mlxtend MiB": "mlxtend_peak_mib", "speed-up": "speed_up", "max rel diff": "max_rel_diff"}
    table = table.rename(columns=names).assign(
        min_count=MIN_COUNT, package_repeats=REPEATS, mlxtend_repeats=1, cpu=cpu_model(),
        measured_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    write_table(table, path, float_format="%.6g")
    print(f"{len(table)} rows written to {path}")


if __name__ == "__main__":
    main()
