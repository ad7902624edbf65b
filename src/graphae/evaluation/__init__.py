"""Evaluation: ranking metrics and link-prediction scoring."""

from graphae.evaluation.link_prediction import link_metrics, link_scores
from graphae.evaluation.metrics import average_precision, roc_auc

__all__ = ["average_precision", "link_metrics", "link_scores", "roc_auc"]
