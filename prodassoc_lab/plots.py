"""One look for every figure of the book: PNG, readable at the website's width."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt


def use_book_style() -> None:
    """Set matplotlib defaults shared by all chapters (size, resolution, grid, PNG output).

    PNG rather than SVG because nbval compares stored outputs and SVG embeds
    ids that change on every run.
    """
    matplotlib.rcParams.update(
        {
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
        }
    )
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside IPython there is no inline backend to configure
        return
    set_matplotlib_formats("png")
    plt.close("all")
