"""The ``graphae probe`` command: clustering and node-classification probes of trained runs.

::

    graphae probe runs/gae_cora_16d_200ep
    graphae probe runs/gae_mygraph_16d_200ep --labels labels.csv   # a run trained without

Prints one small table per run (in percent) and writes ``probes.json`` into
each run folder (:func:`graphae.evaluation.probes.probe_run`).
"""

from __future__ import annotations

import argparse
from typing import Any

from graphae.evaluation.probes import KMEANS_INIT, PROBES_FILE

#: Columns of the printed table: (header, section of the result, key).
COLUMNS = (
    ("ACC", "clustering", "acc"),
    ("NMI", "clustering", "nmi"),
    ("ARI", "clustering", "ari"),
    ("LR acc", "classification", "accuracy"),
    ("macro-F1", "classification", "macro_f1"),
)


def add_probe_parser(commands: Any) -> None:
    """Add ``probe`` to the ``graphae`` sub-commands."""
    probe = commands.add_parser(
        "probe",
        help="how much of the nodes' classes a run's embeddings carry: k-means "
        "(ACC/NMI/ARI) and logistic regression (accuracy/macro-F1)",
        description="For runs on labelled graphs: k-means with k = the number of classes "
        "on the labelled nodes' embeddings (ACC after Hungarian matching, NMI, ARI), and a "
        "logistic regression on the standardised embeddings (Planetoid: the public split, "
        "C chosen on its validation nodes; other graphs: a seeded stratified 10% train / "
        "10% val / 80% test split). Writes probes.json into each run folder.",
    )
    probe.add_argument(
        "runs", nargs="+", metavar="RUN", help="run folders written by graphae train"
    )
    probe.add_argument(
        "--labels",
        help="labels file (node id, class per line) for runs trained without one; "
        "replaces a run's own labels",
    )
    probe.set_defaults(handler=run_probe)


def run_probe(args: argparse.Namespace) -> None:
    """Handler of ``graphae probe``: every run is loaded (and checked) before any is probed."""
    from graphae.evaluation.probes import probe_run
    from graphae.inference import load_run

    runs = [load_run(path) for path in dict.fromkeys(args.runs)]
    for i, run in enumerate(runs):
        if i:
            print()
        result = probe_run(run, labels=args.labels)
        for line in format_probes(result):
            print(line)
        print(f"  wrote {run.path / PROBES_FILE}")


def format_probes(result: dict[str, Any]) -> list[str]:
    """The lines ``graphae probe`` prints for one result of :func:`probe_run`."""
    from pathlib import Path

    labels, clustering, classification = (
        result["labels"],
        result["clustering"],
        result["classification"],
    )
    model = str(result["model"]).upper() + ("" if result.get("features", True) else "*")
    lines = [
        f"{Path(result['run']).name}: {model} on {result['dataset']}, seed {result['seed']} "
        f"({labels['labelled_nodes']:,} of {labels['nodes']:,} nodes labelled, "
        f"{labels['classes']} classes; labels: {labels['source']})"
    ]
    widths = [max(len(header), 6) for header, _, _ in COLUMNS]
    lines.append(
        "  " + "  ".join(f"{h:>{w}}" for (h, _, _), w in zip(COLUMNS, widths, strict=True))
    )
    values = [100 * result[section][key] for _, section, key in COLUMNS]
    lines.append("  " + "  ".join(f"{v:>{w}.2f}" for v, w in zip(values, widths, strict=True)))
    lines.append(
        f"  k-means: k = {clustering['clusters']}, {KMEANS_INIT} restarts, on "
        f"{clustering['nodes']:,} nodes"
    )
    chose = "chosen on val" if classification["val"] else "default"
    lines.append(
        f"  logistic regression: {classification['split']}: {classification['train']:,} train, "
        f"{classification['val']:,} val, {classification['test']:,} test; "
        f"C = {classification['C']:g} ({chose}); most frequent training class "
        f"{100 * classification['majority']:.2f}%"
    )
    return lines
