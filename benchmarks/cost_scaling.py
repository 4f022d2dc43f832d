"""Benchmark: time and peak memory of the book's operations as the data grow (chapter 10).

Each operation runs on growing sub-samples of The Complete Journey, one size
axis at a time, the other sizes held fixed:

- pair statistics (chapter 2) and the product graph (chapter 3): the top N
  products by basket count (all baskets holding one of them), and random
  basket subsets (seed 0) over the whole catalogue;
- one full-batch training epoch of chapter 7's mlp, gcn, seed and sage and of
  chapter 8's GCN link encoder: the basket graph (NPMI) of the top N of the
  products in 5 or more baskets (top-k 10 neighbours) for the *nodes* axis, and
  random edge subsets (seed 0) of the graph of all pairs bought together twice
  or more with positive NPMI, on all those products, for the *edges* axis
  (up to 1M entries for the link encoder);
- one epoch of chapter 9's LightGCN and SASRec trainers (a pass over the
  training data and the validation scoring that picks the epoch) on random
  household subsets (seed 0) of the next-basket task;
- one forward pass of chapter 6's MultiHeadSelfAttention against the sequence length;
- one training step of chapter 7's GCN on random graphs, for the memory per node
  and per edge (prodassoc_lab.explain.cost.gcn_step_peak_bytes).

Every measurement runs in fresh processes (forked from a server that imported
PyTorch once), with one PyTorch thread. Time: one untimed warm-up run, then the
median of --repeats timed runs. Memory, in a second fresh process: the rise of
the process's peak resident memory during one run (the first: lazy
initialisation included), from after the inputs were loaded, with malloc giving
every block of 64 KiB or more its own pages (prodassoc_lab.explain.cost.
mmap_large_allocations), so that resident memory follows the memory in use.
Edges are stored adjacency entries (both directions, PyG's num_edges). The
rows go to --results (the book's file is book/results/cost_scaling.csv); the
summary printed at the end fits the log-log slopes and the 24 GiB capacity.

Run from the repository root, on an otherwise idle machine:
    .venv/bin/python benchmarks/cost_scaling.py --results book/results/cost_scaling.csv
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from prodassoc_lab.attention import MultiHeadSelfAttention
from prodassoc_lab.cli import check_output, write_table
from prodassoc_lab.data import BasketMatrix, basket_matrix, filter_products, top_products
from prodassoc_lab.datasets import cleaned_complete_journey
from prodassoc_lab.explain.cost import (
    GIB,
    fit_loglog_slope,
    fit_memory_model,
    full_batch_capacity,
    gcn_step_peak_bytes,
    theoretical_slopes,
)
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import ProductGraph, product_graph
from prodassoc_lab.links.models import LinkEncoder, fit_encoder
from prodassoc_lab.next_basket.models import LightGCNTraining, SASRecTraining, train_basket_sasrec, train_lightgcn
from prodassoc_lab.next_basket.task import NextBasketTask, next_basket_task
from prodassoc_lab.nodes.models import NodeClassifier
from prodassoc_lab.notebook import quiet_library_warnings
from prodassoc_lab.provenance import cpu_model, logical_cpus
from prodassoc_lab.pyg_data import node_data, sparse_adjacency
from prodassoc_lab.rules import pair_statistics
from prodassoc_lab.tools.measure import (
    fresh_processes,
    mmap_large_allocations,
    peak_rss_growth,
)

THREADS = 1  # other processes share the 2 cores; one thread keeps timings comparable (README, "PyTorch threads")
MIN_COUNT = 5
PRODUCT_SIZES = (1000, 2000, 4000, 8000, 16000, 32000)
BASKET_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1)
NODE_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1)  # of the 28,057 products in 5 or more baskets
EDGE_SIZES = (125_000, 250_000, 500_000, 1_000_000, 2_000_000)
# chapter 8's epoch keeps H-wide vectors per scored pair: at 2M entries one epoch took 16 s and 2.2 GiB here
LINK_MAX_EDGES = 1_000_000
HOUSEHOLD_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1)
SEQUENCE_LENGTHS = (128, 256, 512, 1024, 2048)
ATTENTION = {"batch": 4, "embed_dim": 64, "num_heads": 2}
# random graphs for the memory model: nodes at 400k entries, then entries at 20k nodes
MEMORY_SIZES = {"nodes": [(10_000, 400_000), (20_000, 400_000), (40_000, 400_000), (80_000, 400_000)],
                "edges": [(20_000, 400_000), (20_000, 800_000), (20_000, 1_600_000), (20_000, 3_200_000)]}
HIDDEN = 64
NODE_MODELS = ("mlp", "gcn", "seed", "sage")
OPERATIONS = ("pair_statistics", "product_graph", *(f"ch7_{m}_epoch" for m in NODE_MODELS), "ch8_gcn_link_epoch",
              "ch9_lightgcn_epoch", "ch9_sasrec_epoch", "attention_forward", "gcn_step_random_graph")


# ---- what each operation runs; every builder does its set-up and returns the call to time ----

def _pairs(baskets: BasketMatrix) -> Callable[[], object]:
    return lambda: pair_statistics(baskets, MIN_COUNT)


def _graph(baskets: BasketMatrix, products: pd.DataFrame) -> Callable[[], object]:
    return lambda: product_graph(baskets, products, weight="npmi", min_count=MIN_COUNT, top_k=10)


def _graph_data(edge_index: torch.Tensor, edge_weight: torch.Tensor, x: torch.Tensor) -> Data:
    return sparse_adjacency(Data(x=x, edge_index=edge_index, edge_weight=edge_weight, num_nodes=x.size(0)))


def _node_epoch(kind: str, edge_index: torch.Tensor, edge_weight: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                num_classes: int) -> Callable[[], object]:
    """Chapter 7's training epoch (full batch: one step), without the evaluation that follows it there."""
    data = _graph_data(edge_index, edge_weight, x)
    target = torch.where(y >= 0, y, -100)  # unlabelled products are skipped by the loss, as chapter 7's masks do
    model = NodeClassifier(kind, x.size(1), HIDDEN, num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03, weight_decay=5e-4)

    def epoch() -> None:
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(data.x, data.adj_t), target).backward()
        optimizer.step()

    return epoch


def _link_epoch(edge_index: torch.Tensor, edge_weight: torch.Tensor, x: torch.Tensor) -> Callable[[], object]:
    """One epoch of chapter 8's fit_encoder on the whole graph; its validation metric replaced by a constant."""
    data = _graph_data(edge_index, edge_weight, x)
    positives = edge_index[:, edge_index[0] < edge_index[1]]
    model = LinkEncoder("gcn", x.size(1), HIDDEN)
    return lambda: fit_encoder(model, data.x, data.adj_t, positives, edge_index, lambda embeddings, bias: 0.0,
                               epochs=1, lr=0.02, weight_decay=5e-4, eval_every=1)


def _lightgcn_epoch(task: NextBasketTask) -> Callable[[], object]:
    return lambda: train_lightgcn(task, seed=0, settings=LightGCNTraining(epochs=1))


def _sasrec_epoch(task: NextBasketTask) -> Callable[[], object]:
    return lambda: train_basket_sasrec(task, seed=0, settings=SASRecTraining(epochs=1))


def _attention(length: int) -> Callable[[], object]:
    torch.manual_seed(0)
    layer = MultiHeadSelfAttention(ATTENTION["embed_dim"], ATTENTION["num_heads"])
    x = torch.randn(ATTENTION["batch"], length, ATTENTION["embed_dim"])

    def forward() -> None:
        with torch.no_grad():
            layer(x)

    return forward


BUILDERS: dict[str, Callable[..., Callable[[], object]]] = {
    "pair_statistics": _pairs,
    "product_graph": _graph,
    **{f"ch7_{kind}_epoch": functools.partial(_node_epoch, kind) for kind in NODE_MODELS},
    "ch8_gcn_link_epoch": _link_epoch,
    "ch9_lightgcn_epoch": _lightgcn_epoch,
    "ch9_sasrec_epoch": _sasrec_epoch,
    "attention_forward": _attention,
}


def measure_time(operation: str, inputs: dict, repeats: int) -> dict:
    """In a fresh process: set up, run once untimed (lazy initialisation, GCN's cached adjacency), then time."""
    quiet_library_warnings()  # torch's notes on sparse CSR tensors, printed once per fresh process otherwise
    torch.set_num_threads(THREADS)
    run = BUILDERS[operation](**inputs)
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times)), "seconds_min": min(times), "seconds_max": max(times),
            "repeats": repeats, "torch_threads": torch.get_num_threads()}


def measure_memory(operation: str, inputs: dict) -> dict:
    """In a fresh process: set up, then the rise of peak resident memory during the first run."""
    mmap_large_allocations()  # resident memory follows memory in use; slower, hence not timed here
    quiet_library_warnings()
    torch.set_num_threads(THREADS)
    run = BUILDERS[operation](**inputs)
    _, peak = peak_rss_growth(run)
    return {"peak_mib": peak / 2**20}


# ---- the sub-samples ----

def basket_cases(baskets: BasketMatrix, products: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Pair statistics and product graph: top-N products, and random basket subsets over all products."""
    cases = []
    for n in PRODUCT_SIZES:
        subset = top_products(baskets, n)
        cases.append({"axis": "products", "size": n, "products": n, "baskets": subset.n_baskets,
                      "held_fixed": "all baskets holding one of these products", "matrix": subset})
    order = rng.permutation(baskets.n_baskets)
    for fraction in BASKET_FRACTIONS:
        rows = np.sort(order[: round(fraction * baskets.n_baskets)])
        subset = BasketMatrix(baskets.matrix[rows], baskets.basket_ids[rows], baskets.product_ids)
        cases.append({"axis": "baskets", "size": len(rows), "products": baskets.n_products, "baskets": len(rows),
                      "held_fixed": f"all {baskets.n_products:,} products", "matrix": subset})
    rows = []
    for case in cases:
        matrix = case.pop("matrix")
        rows.append({**case, "operation": "pair_statistics", "inputs": {"baskets": matrix}})
        rows.append({**case, "operation": "product_graph", "inputs": {"baskets": matrix, "products": products}})
    return rows


def graph_cases(clean: pd.DataFrame, products: pd.DataFrame, baskets: BasketMatrix,
                rng: np.random.Generator) -> list[dict]:
    """Chapter 7 and 8 epochs: top-N product graphs (nodes axis), random edge subsets (edges axis)."""
    frequent = filter_products(baskets, MIN_COUNT)
    features = product_features(clean, products, frequent.product_ids)
    graphs = []
    for fraction in NODE_FRACTIONS:
        n = round(fraction * frequent.n_products)
        graph = product_graph(top_products(frequent, n), products, weight="npmi", min_count=MIN_COUNT, top_k=10)
        graphs.append(("nodes", graph, f"basket graph of the top N of the {frequent.n_products:,} products in "
                                       f"{MIN_COUNT}+ baskets, NPMI, top-10 neighbours"))
    dense = product_graph(frequent, products, weight="npmi", min_count=2)
    positive = dense.edges[dense.edges.weight > 0]
    order = rng.permutation(len(positive))
    for entries in EDGE_SIZES:
        picked = positive.iloc[np.sort(order[: entries // 2])].reset_index(drop=True)
        graphs.append(("edges", ProductGraph(dense.nodes, picked, "npmi"),
                       f"all {frequent.n_products:,} products in {MIN_COUNT}+ baskets, random subsets of the "
                       f"{2 * len(positive):,} entries of pairs in 2+ baskets with NPMI > 0"))
    num_classes = len(dense.label_codes("product_category")[1])  # one output size for every graph
    rows = []
    for axis, graph, held in graphs:
        data = node_data(graph, "product_category", features.loc[graph.nodes.product_id])
        size = data.num_nodes if axis == "nodes" else data.num_edges
        graph_inputs = {"edge_index": data.edge_index, "edge_weight": data.edge_weight, "x": data.x}
        case = {"axis": axis, "size": size, "nodes": data.num_nodes, "edges": data.num_edges,
                "held_fixed": f"{held}; F = {data.num_features}, H = {HIDDEN}, C = {num_classes}"}
        for kind in NODE_MODELS:
            rows.append({**case, "operation": f"ch7_{kind}_epoch",
                         "inputs": {**graph_inputs, "y": data.y, "num_classes": num_classes}})
        if axis == "nodes" or size <= LINK_MAX_EDGES:
            rows.append({**case, "operation": "ch8_gcn_link_epoch", "inputs": graph_inputs})
    return rows


def household_subset(task: NextBasketTask, households: np.ndarray) -> NextBasketTask:
    """The task restricted to some households (positions, sorted), over the same catalogue."""
    starts, ends = task.offsets[households], task.offsets[households + 1]
    rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
    offsets = np.concatenate([[0], np.cumsum(ends - starts)])
    return NextBasketTask(sp.csr_array(task.baskets[rows]), offsets, task.households[households], task.product_ids,
                          task.basket_ids[rows])


def household_cases(clean: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Chapter 9 epochs on random household subsets of the next-basket task."""
    task = next_basket_task(clean, n_products=5000, min_history=4)
    order = rng.permutation(task.n_households)
    rows = []
    for fraction in HOUSEHOLD_FRACTIONS:
        subset = household_subset(task, np.sort(order[: round(fraction * task.n_households)]))
        case = {"axis": "households", "size": subset.n_households, "households": subset.n_households,
                "products": subset.n_products, "baskets": subset.baskets.shape[0],
                "held_fixed": f"chapter 9's catalogue of {task.n_products:,} products and trainer settings"}
        for operation in ("ch9_lightgcn_epoch", "ch9_sasrec_epoch"):
            rows.append({**case, "operation": operation, "inputs": {"task": subset}})
    return rows


def attention_cases() -> list[dict]:
    """Self-attention forward passes of growing length."""
    held = (f"batch {ATTENTION['batch']}, d = {ATTENTION['embed_dim']}, {ATTENTION['num_heads']} heads, "
            "no gradient")
    return [{"operation": "attention_forward", "axis": "sequence length", "size": length, "sequence_length": length,
             "held_fixed": held, "inputs": {"length": length}} for length in SEQUENCE_LENGTHS]


# ---- running and reporting ----

def stamp() -> dict:
    """The load average and the time, recorded before each measurement."""
    return {"load_avg_1min": os.getloadavg()[0],
            "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def run_cases(cases: list[dict], repeats: int, executor: ProcessPoolExecutor) -> list[dict]:
    """Time and memory of each case, each in its own fresh processes."""
    rows = []
    for case in cases:
        inputs = case.pop("inputs")
        started = stamp()
        result = executor.submit(measure_time, case["operation"], inputs, repeats).result()
        result |= executor.submit(measure_memory, case["operation"], inputs).result()
        rows.append({**case, **result, **started})
        report(case["operation"], case["axis"], case["size"], result["seconds"], result["peak_mib"], started)
    return rows


def memory_rows(num_classes: int, num_features: int, executor: ProcessPoolExecutor) -> list[dict]:
    """One GCN step on each random graph of ``MEMORY_SIZES``, in a fresh process: the memory model's data."""
    rows = []
    for axis, sizes in MEMORY_SIZES.items():
        for nodes, edges in sizes:
            started = stamp()
            result = executor.submit(gcn_step_peak_bytes, nodes, edges, in_channels=num_features, hidden=HIDDEN,
                                     num_classes=num_classes).result()
            rows.append({"operation": "gcn_step_random_graph", "axis": axis,
                         "size": result[axis], "nodes": result["nodes"], "edges": result["edges"],
                         "held_fixed": f"random graph, first training step of chapter 7's GCN (time: that step, "
                                       f"under the memory setting); F = {num_features}, "
                                       f"H = {HIDDEN}, C = {num_classes}",
                         "seconds": result["seconds"], "seconds_min": result["seconds"],
                         "seconds_max": result["seconds"], "peak_mib": result["peak_bytes"] / 2**20,
                         "repeats": 1, "torch_threads": THREADS, **started})
            report("gcn_step_random_graph", axis, result[axis], result["seconds"], result["peak_bytes"] / 2**20,
                   started)
    return rows


def report(operation: str, axis: str, size: int, seconds: float, peak_mib: float, started: dict) -> None:
    print(f"{operation:>22} {axis:>15} {size:>10,}  {seconds:8.4f} s {peak_mib:9.1f} MiB  "
          f"load {started['load_avg_1min']:.2f}", flush=True)


def summary(table: pd.DataFrame) -> None:
    """Fitted slopes beside the theoretical ones, and what 24 GiB holds."""
    theory = theoretical_slopes()
    lines = []
    for (operation, axis), group in table.groupby(["operation", "axis"], sort=False):
        if operation == "gcn_step_random_graph":
            continue
        time_fit = fit_loglog_slope(group["size"], group["seconds"])
        # a rise below one 4 KiB page reads as 0: keep it on the log axis
        memory = group["peak_mib"].clip(lower=4 / 1024)
        memory_fit = fit_loglog_slope(group["size"], memory)
        expected = theory.loc[(operation, axis)]
        lines.append({"operation": operation, "axis": axis, "sizes": f"{group['size'].min():,}–{group['size'].max():,}",
                      "time slope": round(time_fit.slope, 2), "time theory": expected.time,
                      "memory slope": round(memory_fit.slope, 2), "memory theory": expected.memory,
                      "kind": expected.kind})
    print(pd.DataFrame(lines).to_string(index=False))
    synthetic = table[table.operation == "gcn_step_random_graph"]
    if synthetic.empty:
        return
    model = fit_memory_model(synthetic.nodes, synthetic.edges, synthetic.peak_mib * 2**20)
    print(f"\nGCN training step, peak memory ≈ {model.fixed_bytes / 2**20:.1f} MiB + {model.bytes_per_node:,.0f} B "
          f"per node + {model.bytes_per_edge:,.1f} B per adjacency entry")
    for degree in (5, 20, 100):
        fits = full_batch_capacity(model.bytes_per_node, model.bytes_per_edge, 24 * GIB, degree, model.fixed_bytes)
        print(f"24 GiB holds full-batch GCN training of {fits.nodes:,} nodes at {degree} entries per node "
              f"({fits.edges:,} entries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=None, help="write the rows to this CSV file")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per measurement, after a warm-up (default 3)")
    parser.add_argument("--operations", nargs="+", choices=OPERATIONS, default=list(OPERATIONS),
                        help="measure only these operations (default: all)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be a positive integer, got {args.repeats}")
    check_output(parser, "--results", args.results, ".csv")

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    clean, products = cleaned_complete_journey()
    baskets = basket_matrix(clean)
    wanted = set(args.operations)
    cases = basket_cases(baskets, products, rng) if wanted & {"pair_statistics", "product_graph"} else []
    if wanted & {*(f"ch7_{m}_epoch" for m in NODE_MODELS), "ch8_gcn_link_epoch", "gcn_step_random_graph"}:
        cases += graph_cases(clean, products, baskets, rng)
    if wanted & {"ch9_lightgcn_epoch", "ch9_sasrec_epoch"}:
        cases += household_cases(clean, rng)
    cases += attention_cases()
    # the random graphs of the memory model get the real graphs' numbers of features and classes
    real = next((c["inputs"] for c in cases if c["operation"] == "ch7_gcn_epoch"), None)
    dimensions = None if real is None else (real["num_classes"], real["x"].size(1))
    cases = [c for c in cases if c["operation"] in wanted]
    print(f"{len(cases)} measurements prepared in {time.perf_counter() - start:.0f} s; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    # Every measurement process re-runs this file's imports (as multiprocessing does for a script);
    # with PyTorch, PyG and the package's modules imported once by the fork server, that takes no time.
    package = sorted(name for name in sys.modules if name.startswith("prodassoc_lab"))
    with fresh_processes(preload=("torch", "torch_geometric", *package)) as executor:
        rows = run_cases(cases, args.repeats, executor)
        if "gcn_step_random_graph" in wanted:
            rows += memory_rows(*dimensions, executor)
    table = pd.DataFrame(rows).assign(cpu=cpu_model(), logical_cpus=logical_cpus())
    columns = ["operation", "axis", "size", "products", "baskets", "nodes", "edges", "households", "sequence_length",
               "held_fixed", "seconds", "seconds_min", "seconds_max", "peak_mib", "repeats", "torch_threads",
               "load_avg_1min", "cpu", "logical_cpus", "measured_at"]
    table = table.reindex(columns=columns)
    for column in ("products", "baskets", "nodes", "edges", "households", "sequence_length"):
        table[column] = table[column].astype("Int64")
    print(f"\nmeasured in {time.perf_counter() - start:.0f} s in all; {THREADS} PyTorch thread; "
          f"time = median of {args.repeats} runs after a warm-up")
    summary(table)
    if args.results is not None:
        write_table(table, args.results, float_format="%.6g")
        print(f"{len(table)} rows written to {args.results}")


if __name__ == "__main__":
    main()
