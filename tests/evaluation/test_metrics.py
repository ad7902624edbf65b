import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from graphae.evaluation import LinkScorer, link_metrics
from graphae.evaluation.metrics import (
    NonFiniteScoresError,
    auc_and_ap,
    average_precision,
    ranking_metrics,
    roc_auc,
)
from graphae.nn import InnerProductDecoder


def sk(pos, neg):
    y = [1] * len(pos) + [0] * len(neg)
    s = torch.cat([pos, neg]).numpy()
    return roc_auc_score(y, s), average_precision_score(y, s)


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn_with_and_without_ties(seed):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(200, generator=g) + 0.5
    neg = torch.randn(300, generator=g)
    if seed % 2:  # many ties
        pos, neg = pos.round(), neg.round()
    auc, ap = sk(pos, neg)
    assert roc_auc(pos, neg) == pytest.approx(auc, abs=1e-12)
    assert average_precision(pos, neg) == pytest.approx(ap, abs=1e-12)
    assert auc_and_ap(pos, neg) == (roc_auc(pos, neg), average_precision(pos, neg))


def test_extremes():
    pos, neg = torch.tensor([3.0, 4.0]), torch.tensor([1.0, 2.0])
    assert roc_auc(pos, neg) == 1.0 and average_precision(pos, neg) == 1.0
    assert roc_auc(neg, pos) == 0.0
    assert roc_auc(torch.ones(3), torch.ones(5)) == 0.5


def test_empty_input_is_an_error():
    with pytest.raises(ValueError):
        roc_auc(torch.tensor([]), torch.tensor([1.0]))
    with pytest.raises(ValueError):
        auc_and_ap(torch.tensor([1.0]), torch.tensor([]))


def test_empty_ranking_is_an_error():
    with pytest.raises(ValueError):
        ranking_metrics(torch.tensor([1.0, 2.0]), 2)
    with pytest.raises(ValueError):
        ranking_metrics(torch.tensor([1.0, 2.0]), 0)


@pytest.mark.parametrize("ties", [False, True])
def test_link_scorer_ranks_the_decoder_scores_like_scikit_learn(ties):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(40, 4, generator=g)
    if ties:  # integer embeddings: many equal logits
        z = z.round()
    pos = torch.randint(0, 40, (2, 30), generator=g)
    neg = torch.randint(0, 40, (2, 50), generator=g)
    decode = InnerProductDecoder()
    scorer = LinkScorer(pos, neg)
    logits = (z[pos[0]] * z[pos[1]]).sum(-1), (z[neg[0]] * z[neg[1]]).sum(-1)
    auc, ap = sk(*logits)
    for _ in range(2):  # the same pairs, scored again
        result = scorer(decode, z)
        assert result == pytest.approx({"auc": auc, "ap": ap}, abs=1e-12)
    assert link_metrics(decode, z, pos, neg) == result
    assert (result["auc"], result["ap"]) == auc_and_ap(*logits)


NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("side", ["pos", "neg"])
@pytest.mark.parametrize("metric", [roc_auc, average_precision, auc_and_ap])
def test_non_finite_scores_are_refused(metric, side, bad):
    pos, neg = torch.tensor([3.0, 4.0, 0.5]), torch.tensor([1.0, 2.0])
    (pos if side == "pos" else neg)[1] = bad
    with pytest.raises(ValueError, match="of 5 scores are NaN") as raised:
        metric(pos, neg)
    assert isinstance(raised.value, NonFiniteScoresError)


def test_the_message_counts_nan_and_infinite_scores():
    scores = torch.tensor([float("nan"), float("nan"), 1.0, float("inf"), 0.0])
    with pytest.raises(NonFiniteScoresError, match=r"^2 of 5 scores are NaN and 1 infinite"):
        ranking_metrics(scores, 2)
    # all NaN: ranked as they came, they gave an AUC of 0.0, as if the model were inverted
    with pytest.raises(NonFiniteScoresError, match=r"^4 of 4 scores are NaN and 0 infinite"):
        ranking_metrics(torch.full((4,), float("nan")), 2)


def test_link_scoring_refuses_nan_embeddings():
    z = torch.randn(6, 3)
    z[2] = float("nan")
    pos, neg = torch.tensor([[0, 2], [1, 3]]), torch.tensor([[4, 0], [5, 5]])
    with pytest.raises(NonFiniteScoresError, match=r"^1 of 4 scores are NaN"):
        LinkScorer(pos, neg)(InnerProductDecoder(), z)
    with pytest.raises(NonFiniteScoresError):
        link_metrics(InnerProductDecoder(), z, pos, neg)
