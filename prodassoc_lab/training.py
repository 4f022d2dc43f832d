"""What every trainer of the book shares: keeping the best epoch and saving weights safely.
"""

from __future__ import annotations

import os

import torch

from prodassoc_lab.files import write_atomically


def save_checkpoint(state: dict, path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` atomically: a failed write (a full disk) keeps the previous file.

    See :func:`prodassoc_lab.files.write_atomically`; a symbolic link at ``path``
    is refused rather than followed.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}")
    write_atomically(path, lambda temporary: torch.save(state, temporary), "checkpoint")
