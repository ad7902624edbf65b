"""Applying a trained run: embed graphs, rank likely new edges, score node pairs.

A run folder written by :func:`graphae.train` reloads on its own:

>>> from graphae.inference import load_run, write_embeddings
>>> run = load_run("runs/gae_mygraph_16d_200ep")  # doctest: +SKIP
>>> ids, z = run.embed()  # the trained graph: saved ids and embeddings (μ for VGAE)
>>> write_embeddings("embeddings.csv", ids, z)  # .csv .tsv .npy (+ .ids.txt) .parquet
>>> for node, score in run.top_k("alice", k=10):  # most likely new neighbours
...     print(node, score)
>>> run.score_pairs(["alice", "bob"], ["carol", "dave"])  # σ(z_s · z_t) per pair

Scores are the trained decoder's probabilities of an edge; for the
inner-product decoder of Kipf & Welling (2016),

.. math::
    p(A_{uv} = 1 \\mid z_u, z_v) = \\sigma(z_u^\\top z_v).

:meth:`TrainedRun.top_k` scans the candidates in blocks with a running
top-k (memory ``O(block · d)``, never ``N x N``), leaving out the node itself
and, unless ``include_known``, its known neighbours (every edge of the trained
graph: the split's train, validation and test positives).

A model trained with node features also embeds a *new* graph (inductive use):

>>> from graphae.data.files import load_graph
>>> data = load_graph(run.graph_files("new_edges.csv", "new_features.csv"))
>>> ids, z = run.embed(data)  # features checked against the trained ones

Featureless runs (identity features) cannot: each training node has its own
learned weight row, and a node never seen has no input to encode.

Outputs are written atomically and never over an existing file unless
``force=True``. The command line: ``graphae embed`` and ``graphae predict``
(:mod:`graphae.inference.cli`).
"""

from graphae.inference.export import (
    EMBEDDING_FORMATS,
    TABLE_FORMATS,
    check_output,
    write_embeddings,
    write_rankings,
    write_scores,
)
from graphae.inference.features import align_features
from graphae.inference.pairs import Pairs, read_pairs
from graphae.inference.run import Embedding, Ranking, TrainedRun, load_run
from graphae.inference.scoring import TopK, pair_logits, top_partners

__all__ = [
    "EMBEDDING_FORMATS",
    "TABLE_FORMATS",
    "Embedding",
    "Pairs",
    "Ranking",
    "TopK",
    "TrainedRun",
    "align_features",
    "check_output",
    "load_run",
    "pair_logits",
    "read_pairs",
    "top_partners",
    "write_embeddings",
    "write_rankings",
    "write_scores",
]
