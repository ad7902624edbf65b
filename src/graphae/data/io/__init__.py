"""Reading users' files: text tables, node ids, edge lists, per-node features and labels.

:mod:`graphae.data.files` assembles them into a graph.
"""
