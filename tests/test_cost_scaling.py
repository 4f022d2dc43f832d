"""Tests of prodassoc_lab.explain.cost (chapter 10) and of the committed cost and pair-statistics results."""

from __future__ import annotations

import math
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prodassoc_lab.explain.cost import (
    GIB,
    MemoryModel,
    fit_loglog_slope,
    fit_memory_model,
    full_batch_capacity,
    gcn_step_peak_bytes,
    measure_gcn_memory,
    theoretical_slopes,
)
from prodassoc_lab.provenance import cpu_model, logical_cpus
from prodassoc_lab.tools.measure import (
    fresh_processes,
    mmap_large_allocations,
    peak_rss_growth,
)

RESULTS = Path(__file__).resolve().parent.parent / "book" / "results"
COST_COLUMNS = ["operation", "axis", "size", "products", "baskets", "nodes", "edges", "households", "sequence_length",
                "held_fixed", "seconds", "seconds_min", "seconds_max", "peak_mib", "repeats", "torch_threads",
                "load_avg_1min", "cpu", "logical_cpus", "measured_at"]


# ---- log-log slopes ----

def test_slope_of_a_power_law_is_its_exponent():
    sizes = np.array([100, 300, 1000, 3000, 10000])
    fit = fit_loglog_slope(sizes, 3.0 * sizes**1.7)
    assert fit.slope == pytest.approx(1.7, abs=1e-12)
    assert fit.intercept == pytest.approx(math.log10(3.0), abs=1e-12)
    slope, intercept = fit  # unpacks like the (slope, intercept) pair it is
    assert (slope, intercept) == (fit.slope, fit.intercept)


def test_slope_averages_noise_in_log_space():
    rng = np.random.default_rng(0)
    sizes = np.geomspace(1e3, 1e6, 30)
    noisy = 5e-6 * sizes * np.exp(rng.normal(0, 0.05, sizes.size))
    assert fit_loglog_slope(sizes, noisy).slope == pytest.approx(1.0, abs=0.03)


def test_a_constant_has_slope_zero():
    assert fit_loglog_slope([1, 10, 100], [2.5, 2.5, 2.5]).slope == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("sizes", "values", "message"),
    [
        ([10], [1.0], "at least 2"),
        ([], [], "at least 2"),
        ([10, 100], [1.0, 0.0], "positive"),
        ([10, -100], [1.0, 2.0], "positive"),
        ([10, 100], [1.0, float("nan")], "finite"),
        ([10, 100, 1000], [1.0, 2.0], "same length"),
        ([10, 10, 10], [1.0, 2.0, 3.0], "distinct sizes"),
        ([[10, 100]], [[1.0, 2.0]], "flat"),
        (["a", "b"], [1.0, 2.0], "numbers"),
    ],
)
def test_slope_refuses_bad_input(sizes, values, message):
    with pytest.raises(ValueError, match=message):
        fit_loglog_slope(sizes, values)


# ---- theory ----

def test_theoretical_table_is_complete_and_readable():
    table = theoretical_slopes()
    assert table.index.is_unique
    assert set(table["kind"]) <= {"expected", "asymptotic", "upper bound"}
    assert table["reason"].str.len().min() > 40
    assert table.loc[("attention_forward", "sequence length"), "time"] == 2
    assert table.loc[("pair_statistics", "baskets"), "time"] == 1
    assert table.loc[("ch7_mlp_epoch", "edges"), "time"] == 0


# ---- memory model and capacity ----

def test_memory_model_recovers_exact_coefficients():
    nodes = np.array([1e4, 2e4, 4e4, 1e4, 1e4])
    edges = np.array([1e5, 1e5, 1e5, 2e5, 4e5])
    peak = 5e6 + 7000 * nodes + 40 * edges
    model = fit_memory_model(nodes, edges, peak)
    assert model.fixed_bytes == pytest.approx(5e6, rel=1e-6)
    assert model.bytes_per_node == pytest.approx(7000, rel=1e-9)
    assert model.bytes_per_edge == pytest.approx(40, rel=1e-9)
    assert model.predict(1e5, 1e6) == pytest.approx(5e6 + 7e8 + 4e7, rel=1e-9)


def test_memory_model_keeps_bytes_non_negative():
    # the exact solution has a negative fixed term; nnls sets it to 0 instead
    nodes, edges = np.array([1.0, 2.0, 3.0, 1.0]), np.array([1.0, 1.0, 1.0, 3.0])
    model = fit_memory_model(nodes, edges, -5 + 10 * nodes + 2 * edges)
    assert min(model.fixed_bytes, model.bytes_per_node, model.bytes_per_edge) >= 0


@pytest.mark.parametrize(
    ("nodes", "edges", "peak", "message"),
    [
        ([1, 2, 4], [10, 20, 40], [1, 2, 3], "vary independently"),  # edges a multiple of nodes
        ([5, 5, 5], [1, 2, 3], [1, 2, 3], "vary independently"),
        ([1, 2, 3], [3, 1, 2], [1, 2], "same length"),
        ([1, 2, 3], [3, 1, 2], [1, -2, 3], "non-negative"),
        ([1, 2, 0], [3, 1, 2], [1, 2, 3], "positive"),
    ],
)
def test_memory_model_refuses_bad_input(nodes, edges, peak, message):
    with pytest.raises(ValueError, match=message):
        fit_memory_model(nodes, edges, peak)


def test_capacity_is_the_largest_graph_that_fits():
    per_node, per_edge, fixed, degree = 7000.0, 40.0, 3e8, 20.0
    budget = 24 * GIB
    fits = full_batch_capacity(per_node, per_edge, budget, degree, fixed)
    model = MemoryModel(fixed, per_node, per_edge)
    assert model.predict(fits.nodes, degree * fits.nodes) <= budget
    assert model.predict(fits.nodes + 1, degree * (fits.nodes + 1)) > budget
    assert fits.nodes == int((budget - fixed) // (per_node + per_edge * degree))
    assert fits.edges == int(degree * fits.nodes)


def test_capacity_small_cases():
    assert full_batch_capacity(1000, 10, 1e6, 10) == (909, 9090)
    assert full_batch_capacity(1000, 10, 1e6, 0) == (1000, 0)  # no edges: an MLP
    assert full_batch_capacity(1000, 10, 1e6, 10, fixed_bytes=2e6) == (0, 0)  # not even the fixed part fits


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 10, 1e6, 10), "bytes_per_node"),
        ((1000, float("inf"), 1e6, 10), "bytes_per_edge"),
        ((1000, 10, 0, 10), "budget_bytes"),
        ((1000, 10, 1e6, -1), "edges_per_node"),
        ((1000, 10, 1e6, 10, -5), "fixed_bytes"),
        ((0, 0, 1e6, 10), "must be positive"),
        ((True, 10, 1e6, 10), "bytes_per_node"),
    ],
)
def test_capacity_refuses_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        full_batch_capacity(*args)


# ---- measuring ----

def test_peak_rss_growth_sees_a_touched_array():
    # 64 MiB is above malloc's largest mmap threshold (32 MiB), so it takes fresh pages
    result, growth = peak_rss_growth(lambda: float(np.ones(8 * 2**20).sum()))
    assert result == 8 * 2**20
    assert growth >= 60 * 2**20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's threshold is glibc's")
def test_malloc_threshold_is_set_in_a_fresh_process():
    # in a fresh process: the setting lasts for the whole process and slows allocations
    with fresh_processes() as executor:
        assert executor.submit(mmap_large_allocations).result() is True
    with pytest.raises(ValueError, match="threshold"):
        mmap_large_allocations(0)


def test_gcn_step_reports_its_graph():
    with fresh_processes() as executor:  # it sets malloc's threshold for the rest of its process
        row = executor.submit(gcn_step_peak_bytes, 300, 2000, in_channels=4, hidden=8, num_classes=3).result()
    assert row["nodes"] == 300
    assert 1900 <= row["edges"] <= 2000 and row["edges"] % 2 == 0  # duplicates and self-loops removed, symmetric
    assert row["peak_bytes"] >= 0 and row["seconds"] > 0
    with pytest.raises(ValueError, match="num_nodes"):
        gcn_step_peak_bytes(0, 10)


def test_gcn_memory_is_measured_in_fresh_processes():
    table = measure_gcn_memory([(200, 1000), (400, 1000), (200, 3000)], in_channels=4, hidden=8, num_classes=3)
    assert list(table.columns) == ["nodes", "edges", "peak_bytes", "seconds"]
    assert table.nodes.tolist() == [200, 400, 200]
    assert (table.peak_bytes >= 0).all()
    with pytest.raises(ValueError, match="at least 3"):
        measure_gcn_memory([(200, 1000), (400, 1000)])


def test_machine_description():
    assert cpu_model().strip()
    assert logical_cpus() >= 1


# ---- the committed results ----

@pytest.mark.real_data
def test_committed_cost_scaling_results():
    table = pd.read_csv(RESULTS / "cost_scaling.csv")
    assert list(table.columns) == COST_COLUMNS
    theory = theoretical_slopes()
    for (operation, axis), group in table.groupby(["operation", "axis"]):
        assert group["size"].is_unique and group["size"].min() > 0
        if operation == "gcn_step_random_graph":  # one step per process: memory, not a slope
            assert len(group) >= 3 and group["repeats"].eq(1).all()
        else:
            assert len(group) >= 4, f"{operation} / {axis}: {len(group)} sizes"
            assert (operation, axis) in theory.index, f"no theoretical slope for {operation} / {axis}"
            assert group["repeats"].ge(3).all()
            assert group["size"].max() / group["size"].min() >= 8, f"{operation} / {axis}: too narrow a range"
    assert set(theory.index) <= set(table.groupby(["operation", "axis"]).groups)
    assert (table.seconds > 0).all() and (table.peak_mib >= 0).all()
    assert (table.seconds_min <= table.seconds).all() and (table.seconds <= table.seconds_max).all()
    assert table.torch_threads.eq(1).all()
    assert table.cpu.notna().all() and table.measured_at.str.endswith("UTC").all()
    graph_rows = table[table.axis.isin(["nodes", "edges"])]
    assert graph_rows[["nodes", "edges"]].notna().all().all()


@pytest.mark.real_data
def test_committed_pair_statistics_results():
    table = pd.read_csv(RESULTS / "pair_statistics.csv")
    for column in ("products", "n_products", "baskets", "rules", "package_seconds", "package_peak_mib",
                   "mlxtend_seconds", "speed_up", "max_rel_diff", "min_count", "cpu", "measured_at"):
        assert column in table.columns
    compared = table.dropna(subset=["mlxtend_seconds"])
    assert len(compared) >= 1
    assert (compared.max_rel_diff < 1e-9).all()  # both give the same rules and numbers
    assert np.allclose(compared.speed_up, compared.mlxtend_seconds / compared.package_seconds)
