"""Evaluation: ranking metrics and link-prediction scoring."""

from graphae.evaluation.link_prediction import LinkScorer, link_metrics, link_scores
from graphae.evaluation.metrics import auc_and_ap, average_precision, ranking_metrics, roc_auc

__all__ = [
    "LinkScorer",
    "auc_and_ap",
    "average_precision",
    "link_metrics",
    "link_scores",
    "ranking_metrics",
    "roc_auc",
]
