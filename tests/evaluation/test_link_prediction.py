"""Scoring pairs in chunks gives the numbers of one pass."""

import torch

from graphae.evaluation.link_prediction import (
    LinkScorer,
    decode_in_chunks,
    link_metrics,
    link_scores,
)
from graphae.nn.decoders import InnerProductDecoder


def _pairs(n, k, seed):
    return torch.randint(0, n, (2, k), generator=torch.Generator().manual_seed(seed))


def test_chunks_give_the_numbers_of_one_pass(monkeypatch):
    z = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    decode = InnerProductDecoder()
    pos, neg = _pairs(500, 1000, 1), _pairs(500, 1100, 2)
    whole = link_metrics(decode, z, pos, neg)
    labels, logits = link_scores(decode, z, pos, neg)
    assert torch.equal(decode_in_chunks(decode, z, pos, chunk=7), decode(z, pos))
    calls = []

    def counting(z, pairs):
        calls.append(pairs.shape[1])
        return decode(z, pairs)

    monkeypatch.setattr("graphae.evaluation.link_prediction.CHUNK_PAIRS", 300)
    assert LinkScorer(pos, neg)(counting, z) == whole
    assert max(calls) == 300 and sum(calls) == 2100  # never more than a chunk at once
    chunked_labels, chunked_logits = link_scores(decode, z, pos, neg)
    assert torch.equal(chunked_logits, logits) and torch.equal(chunked_labels, labels)
