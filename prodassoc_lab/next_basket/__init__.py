"""Chapter 9's wing: recommending a household's next basket from its history.

Rooms:

- :mod:`~prodassoc_lab.next_basket.task` — households' baskets in time order, validation and test targets;
- :mod:`~prodassoc_lab.next_basket.baselines` — G-, P-, GP-TopFreq, TIFU-KNN, rule expansion;
- :mod:`~prodassoc_lab.next_basket.models` — the SASRec-style model and LightGCN;
- :mod:`~prodassoc_lab.next_basket.evaluation` — recommendation lists and metrics split into repeat and explore;
- :mod:`~prodassoc_lab.next_basket.experiment` — the comparison chapter 9 reports;
- :mod:`~prodassoc_lab.next_basket.cli` — ``python -m prodassoc_lab.next_basket``.

Nothing is imported here, so that the command checks its arguments before PyTorch loads.
"""
