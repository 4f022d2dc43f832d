"""Chapter 8's wing: predicting associations — new pairs of known products, and partners of new products.

Rooms:

- :mod:`~prodassoc_lab.links.task` — the time split at a cut-off week and what "associated" means;
- :mod:`~prodassoc_lab.links.features` — catalogue attributes of products (for new products);
- :mod:`~prodassoc_lab.links.baselines` — common neighbours, Jaccard, Adamic–Adar, preferential attachment;
- :mod:`~prodassoc_lab.links.models` — ``LinkEncoder`` and its training;
- :mod:`~prodassoc_lab.links.cold_start` — the attribute encoder and ``PartnerPredictor`` for new products;
- :mod:`~prodassoc_lab.links.evaluation` — link tasks and their ranking metrics;
- :mod:`~prodassoc_lab.links.experiment` — the comparison chapter 8 reports;
- :mod:`~prodassoc_lab.links.cli` — ``python -m prodassoc_lab.links``.

Nothing is imported here, so that the command checks its arguments before PyTorch loads.
"""
