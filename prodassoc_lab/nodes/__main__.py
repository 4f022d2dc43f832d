"""``python -m prodassoc_lab.nodes``: chapter 7's comparison of node classifiers and baselines."""

from prodassoc_lab.nodes.cli import main

raise SystemExit(main())
