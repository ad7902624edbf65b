"""Evaluation: ranking metrics and link-prediction scoring."""

from graphae.evaluation.link_prediction import link_metrics
from graphae.evaluation.metrics import average_precision, roc_auc

__all__ = ["average_precision", "link_metrics", "roc_auc"]
