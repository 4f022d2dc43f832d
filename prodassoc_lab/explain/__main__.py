"""``python -m prodassoc_lab.explain``: retrain and save the weights chapter 10 explains."""

from prodassoc_lab.explain.saved_models import main

raise SystemExit(main())
