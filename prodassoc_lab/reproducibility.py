"""Seeding, so that every notebook prints the same numbers on every run."""

from __future__ import annotations

import random
import sys

import numpy as np


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and (if imported) PyTorch; return a seeded NumPy generator.

    Every chapter calls this in its setup cell, after its imports. PyTorch is
    seeded only when the chapter has imported it, so chapters without deep
    learning do not pay the seconds that importing torch costs.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
