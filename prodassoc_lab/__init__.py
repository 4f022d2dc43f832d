"""prodassoc_lab: the helper package of the book *Product Association Lab*.

The notebooks under ``book/`` teach; this package holds what they reuse.
"""

from prodassoc_lab.reproducibility import set_seed

__all__ = ["set_seed"]
__version__ = "0.1.0"
