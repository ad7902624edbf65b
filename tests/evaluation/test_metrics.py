import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from graphae.evaluation.metrics import auc_and_ap, average_precision, roc_auc


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
