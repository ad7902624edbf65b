"""Evaluation: ranking metrics and link-prediction scoring."""

from graphae.evaluation.link_prediction import link_metrics, link_scores
from graphae.evaluation.metrics import auc_and_ap, average_precision, roc_auc

__all__ = ["auc_and_ap", "average_precision", "link_metrics", "link_scores", "roc_auc"]
