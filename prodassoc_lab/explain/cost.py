r"""How cost grows with the data: log-log slopes, their theoretical values, memory per node and edge (chapter 10).

``benchmarks/cost_scaling.py`` measures time and peak memory of the book's
operations on growing sub-samples of the data and writes
``book/results/cost_scaling.csv``. This module holds what turns those
measurements into statements: the slope of a log-log fit, the slope that the
operation's algorithm predicts, a linear model of memory in nodes and edges,
and the largest graph that full-batch training holds in a memory budget.
Chapter 10 explains it.

A cost that grows as :math:`c \cdot n^k` is a straight line of slope :math:`k`
on log-log axes, because :math:`\log(c\,n^k) = \log c + k \log n`. A fixed
overhead (Python calls, optimizer steps on small weight matrices) flattens the
line at small sizes, so a measured slope below the theoretical one on small
inputs says that the overhead still dominates, not that the theory is wrong.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from prodassoc_lab.tools.measure import fresh_processes, mmap_large_allocations, peak_rss_growth
from prodassoc_lab.validation import non_negative_float, positive_float, positive_int

GIB = 2**30


class LogLogFit(NamedTuple):
    """A power law ``value ≈ 10**intercept · size**slope`` fitted on log-log axes."""

    slope: float
    intercept: float


def fit_loglog_slope(sizes: Sequence[float], values: Sequence[float]) -> LogLogFit:
    r"""Least-squares line through :math:`(\log_{10} n_i, \log_{10} v_i)`: slope and intercept (chapter 10).

    .. math::
        \log_{10} v \approx b + k \log_{10} n \iff v \approx 10^{b}\, n^{k}

    ``numpy.polyfit`` of degree 1 in log space. Needs at least two distinct
    sizes, and every size and value finite and positive (a logarithm of 0 or
    of a negative number does not exist).
    """
    x = _positive_vector(sizes, "sizes")
    y = _positive_vector(values, "values")
    if len(x) != len(y):
        raise ValueError(f"sizes and values must have the same length, got {len(x)} and {len(y)}")
    if len(np.unique(x)) < 2:
        raise ValueError(f"a slope needs at least two distinct sizes, got {x.tolist()}")
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), 1)
    return LogLogFit(float(slope), float(intercept))


def _positive_vector(values: Sequence[float], name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if array.ndim != 1 or len(array) < 2:
        raise ValueError(f"{name} must be a flat sequence of at least 2 numbers, got shape {array.shape}")
    if not np.isfinite(array).all() or (array <= 0).any():
        raise ValueError(f"{name} must be finite and positive, got {array.tolist()}")
    return array


@dataclass(frozen=True)
class TheoreticalSlope:
    """The exponent an operation's algorithm predicts for one size axis, with the reasoning (chapter 10).

    ``time`` and ``memory`` are the exponents :math:`k` of :math:`n^k`;
    ``kind`` says how to read them: ``"expected"`` (the average cost is exactly
    this power), ``"asymptotic"`` (reached once the term that grows with the
    axis dominates the fixed terms), or ``"upper bound"`` (the growth order of
    the worst case; real data grow more slowly).
    """

    operation: str
    axis: str
    time: float
    memory: float
    kind: str
    reason: str


#: The book's operations, each per size axis. ``n`` baskets, ``N`` products or nodes,
#: ``E`` stored adjacency entries (both directions), ``F = 15`` features, ``H = 64``
#: hidden units, ``C`` classes, ``L`` sequence length, ``d`` the embedding size.
THEORETICAL_SLOPES: tuple[TheoreticalSlope, ...] = (
    TheoreticalSlope(
        "pair_statistics", "baskets", 1, 1, "expected",
        "XᵀX visits every pair of items inside every basket: work W = Σ_b s_b², s_b the basket's size. "
        "Random basket subsets keep the size distribution, so E[W] = n E[s²] grows linearly in n. The output "
        "(pairs bought together in min_count baskets or more) has at most W / (2 min_count) rows, so it "
        "stays O(n) too, although its share can grow."),
    TheoreticalSlope(
        "pair_statistics", "products", 2, 2, "upper bound",
        "The top N products: W = Σ_b s_b(N)² ≤ n N² and at most N(N−1)/2 pairs, quadratic in the dense "
        "worst case (every product with every other). Adding product i, in n_i baskets, raises W by "
        "Σ_{b ∋ i} (2 s_b + 1) ≤ n_i (2 max_b s_b + 1); products are added from the most to the least "
        "popular, so the rare ones added last can add little, and the real growth is far slower."),
    TheoreticalSlope(
        "product_graph", "baskets", 1, 1, "expected",
        "The pair statistics (as above), NPMI per pair, and the top-k selection, one sort of the 2p edge "
        "ends (p pairs): O(n) + O(p log p) with p = O(n), linear up to a logarithm."),
    TheoreticalSlope(
        "product_graph", "products", 2, 2, "upper bound",
        "As for pair statistics: at most N(N−1)/2 pairs to weigh and sort."),
    TheoreticalSlope(
        "ch7_mlp_epoch", "nodes", 1, 1, "asymptotic",
        "Two dense layers on every node: O(N (F H + H C)) time and memory."),
    TheoreticalSlope(
        "ch7_mlp_epoch", "edges", 0, 0, "expected",
        "The MLP never reads the graph: edges cost nothing."),
    *(TheoreticalSlope(
        f"ch7_{kind}_epoch", axis, 1, 1, "asymptotic",
        f"Two graph layers: dense transforms plus one sparse product with the adjacency per layer, "
        f"{work}; backward costs the same order. Linear in N at a fixed mean degree. At fixed N the time is "
        f"a + bE, whose log-log slope bE / (a + bE) reaches 1 only once the edge term dominates: at a mean "
        f"degree E/N above {crossover}, about {value} with F = 15, H = 64, C = 289.")
      for kind, work, crossover, value in (
          ("gcn", "O(N (F H + H C) + E (H + C)) (GCN transforms, then propagates)",
           "(F H + H C) / (H + C)", 55),
          ("seed", "O(2 N (F H + H C) + E (F + H)) (it propagates its input, then applies two transforms)",
           "2 (F H + H C) / (F + H)", 490),
          ("sage", "O(2 N (F H + H C) + E (F + H)) (like seed: the mean of the neighbours, then two transforms)",
           "2 (F H + H C) / (F + H)", 490))
      for axis in ("nodes", "edges")),
    *(TheoreticalSlope(
        "ch8_gcn_link_epoch", axis, 1, 1, "asymptotic",
        "Two GCN layers F→H→H, O(N F H + N H² + E H); the dot products of the E/2 positive and E/2 sampled "
        "negative pairs, O(E H), with their gathered H-wide embeddings held for the backward pass; PyG's "
        "negative sampling draws the candidates in Python and checks them against the edges with a sort "
        "(np.isin), O(E log E). Linear in N at a fixed degree, and in E at fixed N up to the logarithm.")
      for axis in ("nodes", "edges")),
    TheoreticalSlope(
        "ch9_lightgcn_epoch", "households", 2, 1, "asymptotic",
        "An epoch splits the E household–product pairs into ⌈E / b⌉ batches (b = 65,536) and each batch "
        "propagates over the whole graph: O(⌈E/b⌉ · L (V + E) d), with E growing in proportion to the "
        "households. Quadratic once E ≫ b, linear while E ≤ b; memory holds one propagation, O((V + E) d)."),
    TheoreticalSlope(
        "ch9_sasrec_epoch", "households", 1, 1, "asymptotic",
        "One window of at most T baskets per household, in batches of 256: O(H (T d² + T² d + s P d)) for "
        "attention, feed-forward and the scores of s slots over P products; validation scores an H × P "
        "matrix, so its memory grows linearly too."),
    TheoreticalSlope(
        "attention_forward", "sequence length", 2, 2, "asymptotic",
        "Projections O(B L d²) and scores plus weighted sum O(B L² d), weights B h L² numbers: the ratio "
        "of the two time terms is about L / (2d), so the slope approaches 2 once L ≫ 2d."),
)


def theoretical_slopes() -> pd.DataFrame:
    """``THEORETICAL_SLOPES`` as a table indexed by (operation, axis) (chapter 10)."""
    table = pd.DataFrame([vars(slope) for slope in THEORETICAL_SLOPES])
    return table.set_index(["operation", "axis"]).sort_index()


@dataclass(frozen=True)
class MemoryModel:
    r"""Peak memory of an operation as :math:`c + a N + b E` bytes: fixed, per node and per edge (chapter 10)."""

    fixed_bytes: float
    bytes_per_node: float
    bytes_per_edge: float

    def predict(self, nodes: float, edges: float) -> float:
        """Predicted peak bytes of a graph with ``nodes`` nodes and ``edges`` adjacency entries."""
        return self.fixed_bytes + self.bytes_per_node * nodes + self.bytes_per_edge * edges


def fit_memory_model(nodes: Sequence[float], edges: Sequence[float], peak_bytes: Sequence[float]) -> MemoryModel:
    r"""Fit :math:`\text{peak} \approx c + a N + b E` with :math:`a, b, c \ge 0` (chapter 10).

    .. math::
        \min_{c, a, b \,\ge\, 0} \sum_i \big(\text{peak}_i - c - a N_i - b E_i\big)^2

    solved by ``scipy.optimize.nnls``: bytes cannot be negative, and an
    unconstrained fit can make the small fixed term negative through noise.
    The sizes must vary independently (not all nodes equal, not all edges a
    multiple of the nodes), or per-node and per-edge memory cannot be told apart.
    """
    n = _positive_vector(nodes, "nodes")
    e = _positive_vector(edges, "edges")
    try:
        peak = np.asarray(peak_bytes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"peak_bytes must be a sequence of numbers, got {peak_bytes!r}") from None
    if not len(n) == len(e) == len(peak):
        raise ValueError(f"nodes, edges and peak_bytes must have the same length, got {len(n)}, {len(e)}, {len(peak)}")
    if peak.ndim != 1 or not np.isfinite(peak).all() or (peak < 0).any():
        raise ValueError(f"peak_bytes must be finite and non-negative, got {peak.tolist()}")
    design = np.column_stack([np.ones_like(n), n, e])
    if np.linalg.matrix_rank(design) < 3:
        raise ValueError("nodes and edges must vary independently (at least 3 sizes that are not on one line), "
                         "or memory per node and per edge cannot be separated")
    (fixed, per_node, per_edge), _ = nnls(design, peak)
    return MemoryModel(float(fixed), float(per_node), float(per_edge))


class GraphCapacity(NamedTuple):
    """The largest graph that fits: nodes and stored adjacency entries."""

    nodes: int
    edges: int


def full_batch_capacity(bytes_per_node: float, bytes_per_edge: float, budget_bytes: float,
                        edges_per_node: float, fixed_bytes: float = 0.0) -> GraphCapacity:
    r"""The largest graph of mean degree ``edges_per_node`` whose full-batch training fits ``budget_bytes``
    (chapter 10).

    With :math:`a` bytes per node, :math:`b` per adjacency entry, :math:`c`
    fixed and :math:`E = \bar d N` entries,

    .. math::
        c + a N + b \bar d N \le M \iff N \le \frac{M - c}{a + b \bar d}

    so :math:`N^* = \lfloor (M - c)/(a + b \bar d) \rfloor` and :math:`E^* =
    \lfloor \bar d N^* \rfloor`; a budget below the fixed cost holds no graph
    (0, 0). Full-batch training keeps every node's activations at once, so
    this is the limit of the method, not of the data.
    """
    per_node = non_negative_float(bytes_per_node, "bytes_per_node")
    per_edge = non_negative_float(bytes_per_edge, "bytes_per_edge")
    budget = positive_float(budget_bytes, "budget_bytes")
    degree = non_negative_float(edges_per_node, "edges_per_node")
    fixed = non_negative_float(fixed_bytes, "fixed_bytes")
    cost = per_node + per_edge * degree
    if cost <= 0:
        raise ValueError("bytes_per_node + bytes_per_edge * edges_per_node must be positive: "
                         "a graph that costs no memory has no largest size")
    if budget <= fixed:
        return GraphCapacity(0, 0)
    nodes = (budget - fixed) // cost
    if not math.isfinite(nodes) or not math.isfinite(degree * nodes):
        raise ValueError(f"the budget {budget:g} B over a cost of {cost:g} B per node gives no finite graph size; "
                         "give costs and budget in bytes")
    return GraphCapacity(int(nodes), int(degree * nodes))


def gcn_step_peak_bytes(num_nodes: int, num_edges: int, in_channels: int = 15, hidden: int = 64,
                        num_classes: int = 289, seed: int = 0) -> dict[str, float]:
    """Peak memory growth and time of one full-batch training step of chapter 7's GCN on a random graph.

    The graph has ``num_nodes`` nodes and about ``num_edges`` adjacency entries
    (random node pairs, both directions, duplicates and self-loops removed),
    random features and labels; the step is chapter 7's: forward over all
    nodes (the first one also caches GCN's normalized adjacency), cross-entropy,
    backward, Adam. Memory is measured from after the data is built, with
    :func:`~prodassoc_lab.tools.measure.mmap_large_allocations` and
    :func:`~prodassoc_lab.tools.measure.peak_rss_growth`, so run it in a fresh
    process; the time is of that one step under this memory setting.
    Returns the actual ``nodes``, ``edges``, ``peak_bytes`` and ``seconds``.

    Args:
        num_nodes: nodes of the random graph.
        num_edges: adjacency entries to draw (both directions count).
        in_channels: input features per node.
        hidden: hidden units of the GCN.
        num_classes: classes of the random labels.
        seed: seed of the graph, features, labels and initialization.
    """
    import torch
    import torch.nn.functional as F
    from torch_geometric.data import Data
    from torch_geometric.utils import remove_self_loops, to_undirected

    from prodassoc_lab.nodes.models import NodeClassifier
    from prodassoc_lab.pyg_data import sparse_adjacency

    for name, value in (("num_nodes", num_nodes), ("num_edges", num_edges), ("in_channels", in_channels),
                        ("hidden", hidden), ("num_classes", num_classes)):
        positive_int(value, name)
    mmap_large_allocations()
    generator = torch.Generator().manual_seed(seed)
    pairs, _ = remove_self_loops(torch.randint(num_nodes, (2, max(1, num_edges // 2)), generator=generator))
    edge_index = to_undirected(pairs, num_nodes=num_nodes)
    data = sparse_adjacency(Data(edge_index=edge_index, num_nodes=num_nodes))
    x = torch.randn(num_nodes, in_channels, generator=generator)
    y = torch.randint(num_classes, (num_nodes,), generator=generator)
    model = NodeClassifier("gcn", in_channels, hidden, num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03, weight_decay=5e-4)

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(model(x, data.adj_t), y).backward()
        optimizer.step()
        return time.perf_counter() - start

    seconds, peak = peak_rss_growth(step)
    return {"nodes": num_nodes, "edges": int(edge_index.size(1)), "peak_bytes": peak, "seconds": seconds}


def measure_gcn_memory(sizes: Sequence[tuple[int, int]], **dimensions: int) -> pd.DataFrame:
    """:func:`gcn_step_peak_bytes` for each ``(nodes, edges)`` in ``sizes``, each in a fresh process (chapter 10).

    One row per size; :func:`fit_memory_model` on its columns gives the bytes
    per node and per edge. ``dimensions`` go to :func:`gcn_step_peak_bytes`.
    """
    if len(sizes) < 3:
        raise ValueError(f"give at least 3 (nodes, edges) sizes to separate fixed, per-node and per-edge memory, "
                         f"got {len(sizes)}")
    with fresh_processes() as executor:
        rows = [executor.submit(gcn_step_peak_bytes, nodes, edges, **dimensions).result() for nodes, edges in sizes]
    return pd.DataFrame(rows)
