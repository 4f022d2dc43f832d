"""``python -m prodassoc_lab.explain``: retrain and save the weights chapter 10 explains."""

from prodassoc_lab.explain.cli import main

raise SystemExit(main())
