import pytest
import torch

from graphae.evaluation.metrics import NonFiniteScoresError
from graphae.evaluation.ranking import hits_at_k, mean_reciprocal_rank, ranking_report


def brute_hits(pos, neg, k):
    negatives = sorted(neg.tolist(), reverse=True)
    if len(negatives) < k:
        return 1.0
    return sum(p > negatives[k - 1] for p in pos.tolist()) / len(pos)


def brute_mrr(pos, neg):
    total = 0.0
    for p in pos.tolist():
        higher = sum(n > p for n in neg.tolist())
        tied = sum(n == p for n in neg.tolist())
        total += 1.0 / (1 + higher + tied / 2)  # the positive in the middle of its ties
    return total / len(pos)


def ogb_hits(y_pred_pos, y_pred_neg, K):
    """ogb 1.3.6, linkproppred/evaluate.py, Evaluator._eval_hits (torch branch)."""
    if len(y_pred_neg) < K:
        return 1.0
    kth_score_in_negative_edges = torch.topk(y_pred_neg, K)[0][-1]
    return float(torch.sum(y_pred_pos > kth_score_in_negative_edges).cpu()) / len(y_pred_pos)


def ogb_mrr(y_pred_pos, y_pred_neg):
    """ogb 1.3.6, Evaluator._eval_mrr (torch branch), every positive given all negatives."""
    y_pred_neg = y_pred_neg.view(1, -1).expand(len(y_pred_pos), -1)
    y_pred_pos = y_pred_pos.view(-1, 1)
    optimistic_rank = (y_pred_neg > y_pred_pos).sum(dim=1)
    pessimistic_rank = (y_pred_neg >= y_pred_pos).sum(dim=1)
    ranking_list = 0.5 * (optimistic_rank + pessimistic_rank) + 1
    return float((1.0 / ranking_list.to(torch.float)).mean())


def scores(seed, ties, num_pos=60, num_neg=150):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(num_pos, generator=g) + 1.0
    neg = torch.randn(num_neg, generator=g)
    if ties:  # few distinct values: positives tie negatives, the K-th negative is tied
        pos, neg = (2 * pos).round(), (2 * neg).round()
    return pos, neg


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_matches_brute_force_and_ogb(seed, ties):
    pos, neg = scores(seed, ties)
    report = ranking_report(pos, neg)
    assert list(report) == ["hits@20", "hits@50", "hits@100", "mrr"]
    for k in (1, 20, 50, 100, 150, 151):
        expected = brute_hits(pos, neg, k)
        assert hits_at_k(pos, neg, k) == expected == ogb_hits(pos, neg, k)
        if f"hits@{k}" in report:
            assert report[f"hits@{k}"] == expected
    mrr = mean_reciprocal_rank(pos, neg)
    assert mrr == pytest.approx(brute_mrr(pos, neg), abs=1e-12)
    assert mrr == pytest.approx(ogb_mrr(pos, neg), abs=1e-6)  # OGB sums in float32
    assert report["mrr"] == mrr


def test_ties_with_the_kth_negative_are_misses_and_ties_halve_the_rank():
    neg = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    pos = torch.tensor([4.0, 4.5, 6.0])
    assert hits_at_k(pos, neg, 2) == pytest.approx(2 / 3)  # 4.0 ties the 2nd highest: a miss
    assert hits_at_k(pos, neg, 1) == pytest.approx(1 / 3)
    # ranks: 4.0 -> 1 + (1 + 2) / 2 = 2.5; 4.5 -> 2; 6.0 -> 1
    assert mean_reciprocal_rank(pos, neg) == pytest.approx((1 / 2.5 + 1 / 2 + 1) / 3)
    assert mean_reciprocal_rank(torch.ones(4), torch.ones(3)) == pytest.approx(1 / 2.5)


def test_fewer_negatives_than_k_is_all_hits_as_in_ogb():
    pos, neg = torch.tensor([-10.0, 0.0]), torch.tensor([1.0, 2.0])
    assert hits_at_k(pos, neg, 3) == 1.0 and hits_at_k(pos, neg, 2) == 0.0
    assert ranking_report(pos, neg, ks=(2, 3)) == {
        "hits@2": 0.0,
        "hits@3": 1.0,
        "mrr": pytest.approx((1 / 3 + 1 / 3) / 2),
    }


def test_perfect_and_inverted_rankings():
    pos, neg = torch.arange(100.0, 110.0), torch.arange(100.0)
    assert ranking_report(pos, neg) == {"hits@20": 1.0, "hits@50": 1.0, "hits@100": 1.0, "mrr": 1.0}
    inverted = ranking_report(neg[:10], pos)  # 10 positives below all 10 negatives
    assert inverted["hits@20"] == 1.0  # fewer than 20 negatives
    assert mean_reciprocal_rank(neg[:10], pos) == pytest.approx(1 / 11)


def test_shapes_and_dtypes_are_flattened_and_promoted():
    pos, neg = scores(0, False)
    expected = ranking_report(pos, neg)
    assert ranking_report(pos.view(6, 10).double(), neg.view(1, -1)) == pytest.approx(expected)


def test_bad_input_is_an_error():
    with pytest.raises(ValueError, match="at least one positive"):
        mean_reciprocal_rank(torch.tensor([]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="at least one positive"):
        hits_at_k(torch.tensor([1.0]), torch.tensor([]), 1)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            hits_at_k(torch.tensor([1.0]), torch.tensor([0.0]), k)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("side", ["pos", "neg"])
@pytest.mark.parametrize(
    "metric",
    [lambda p, n: hits_at_k(p, n, 1), mean_reciprocal_rank, ranking_report],
    ids=["hits", "mrr", "report"],
)
def test_non_finite_scores_are_refused(metric, side, bad):
    pos, neg = torch.tensor([3.0, 4.0, 0.5]), torch.tensor([1.0, 2.0])
    (pos if side == "pos" else neg)[1] = bad
    with pytest.raises(NonFiniteScoresError, match="of 5 scores are NaN"):
        metric(pos, neg)
