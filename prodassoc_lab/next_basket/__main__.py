"""``python -m prodassoc_lab.next_basket``: chapter 9's next-basket comparison."""

from prodassoc_lab.next_basket.cli import main

raise SystemExit(main())
