"""Chapter 10's wing: explaining the trained models and measuring how cost grows.

Rooms:

- :mod:`~prodassoc_lab.explain.explainers` — GNNExplainer, mask gradients, random explanations, fidelity;
- :mod:`~prodassoc_lab.explain.saved_models` — the weights of chapters 8 and 9 that chapter 10 explains;
- :mod:`~prodassoc_lab.explain.cli` — ``python -m prodassoc_lab.explain``, which retrains and saves them;
- :mod:`~prodassoc_lab.explain.cost` — log-log slopes, their theoretical values, memory per node and edge;

Nothing is imported here, so that the command checks ``--out`` before PyTorch loads.
"""
