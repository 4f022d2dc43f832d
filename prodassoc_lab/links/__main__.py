"""``python -m prodassoc_lab.links``: chapter 8's link-prediction comparison."""

from prodassoc_lab.links.cli import main

raise SystemExit(main())
