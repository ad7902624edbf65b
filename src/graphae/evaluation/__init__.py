"""Evaluation: ranking metrics (AUC/AP, Hits@K/MRR) and link-prediction scoring."""

from graphae.evaluation.link_prediction import LinkScorer, link_metrics, link_scores
from graphae.evaluation.metrics import auc_and_ap, average_precision, ranking_metrics, roc_auc
from graphae.evaluation.ranking import hits_at_k, mean_reciprocal_rank, ranking_report

__all__ = [
    "LinkScorer",
    "auc_and_ap",
    "average_precision",
    "hits_at_k",
    "link_metrics",
    "link_scores",
    "mean_reciprocal_rank",
    "ranking_metrics",
    "ranking_report",
    "roc_auc",
]
