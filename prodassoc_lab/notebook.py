"""What every chapter's setup cell does besides its imports, and how chapters hand numbers to their prose.

Chapters call :func:`quiet_library_warnings` *before* importing PyTorch
Geometric, whose import emits the warnings, and
:func:`~prodassoc_lab.reproducibility.set_seed` after their imports.
Chapters glue each value that their prose pastes with ``glue_text``, which also prints it.
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


def glue_text(name: str, value: object, spec: str = "") -> None:
    """Format ``value`` with ``spec``, glue the text as ``name`` and print ``name = text`` (chapters 1–9).

    The website pastes the text where the prose has a ``glue:text`` role naming ``name``.
    JupyterLab shows that role as raw markup, so the same text is also printed in the
    cell's output, above the prose that quotes it: a reader of the notebook finds every
    number there, next to its name (``tests/test_glue_readable.py`` checks this).
    The format is applied here, not in the role (which then needs none), so that the site
    and the printed line show the same text. Print only digits that are stable across
    CPUs (see the README's "For authors"): nbval compares a strict cell's printed line exactly.
    Returns nothing, so that a call on a cell's last line adds no quoted result.
    """
    # Imported here so that the package's modules and command-line tools do not need myst-nb.
    from myst_nb import glue

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be a Python identifier, got {name!r}")
    try:
        text = format(value, spec)
    except (TypeError, ValueError) as error:
        raise ValueError(f"glue {name!r}: cannot format {value!r} with {spec!r} ({error})") from None
    if "\n" in text:
        raise ValueError(f"glued text for {name!r} must be one line, got {text!r}")
    glue(name, text, display=False)
    print(f"{name} = {text}")
