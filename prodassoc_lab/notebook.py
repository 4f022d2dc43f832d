"""What every chapter's setup cell does besides its imports: quiet known library warnings.

Chapters call :func:`quiet_library_warnings` *before* importing PyTorch
Geometric, whose import emits the warnings, and
:func:`~prodassoc_lab.reproducibility.set_seed` after their imports.
"""

from __future__ import annotations

import warnings

# (message, category) of warnings that say nothing about the book's code: PyG's import calls the
# deprecated torch.jit.script, and tqdm.auto looks for Jupyter widgets that the book does not use.
KNOWN_WARNINGS = (
    (".*torch.jit.script.*", DeprecationWarning),
    ("IProgress not found", Warning),
    # torch's notes on its sparse tensors (chapter 9): a beta label, and that invariant checks are off
    ("Sparse CSR tensor support is in beta state", UserWarning),
    ("Sparse invariant checks are implicitly disabled", UserWarning),
)


def quiet_library_warnings() -> None:
    """Hide the library warnings in ``KNOWN_WARNINGS``, and only those, for this process."""
    for message, category in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
