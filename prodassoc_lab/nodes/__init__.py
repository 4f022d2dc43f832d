"""Chapter 7's wing: node classification on the product graph (the source article's §5 script, corrected).

Rooms:

- :mod:`~prodassoc_lab.nodes.models` — ``NodeClassifier`` (MLP, GCN, the article's layer, GraphSAGE, GAT);
- :mod:`~prodassoc_lab.nodes.baselines` — majority class, label propagation, Correct & Smooth;
- :mod:`~prodassoc_lab.nodes.evaluation` — stratified masks, accuracy, run records, result tables;
- :mod:`~prodassoc_lab.nodes.experiment` — ``train_node_classifier`` and ``compare_models``;
- :mod:`~prodassoc_lab.nodes.cli` — ``python -m prodassoc_lab.nodes``.

Nothing is imported here, so that the command checks its arguments before PyTorch loads.
"""
