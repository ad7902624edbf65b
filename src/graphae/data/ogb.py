"""OGB link-prediction data sets with their official splits and evaluators.

Hu et al., "Open Graph Benchmark: Datasets for Machine Learning on Graphs"
(NeurIPS 2020), https://arxiv.org/abs/2005.00687. ``--dataset ogbl-collab``
(also ``ogbl-ppa``, ``ogbl-citation2``, ``ogbl-ddi``) trains on the data set's
own training edges and scores its own validation and test pairs
(:func:`official_split`) instead of graphae's 85/5/10 split, and reports the
official metric of ``ogb.linkproppred.Evaluator`` (:func:`official_metrics`)
in ``metrics.json`` beside AUC/AP:

=================  ============  =========================================
data set           metric        negatives
=================  ============  =========================================
ogbl-collab        Hits@50       one list shared by all positives
ogbl-ppa           Hits@100      one list shared by all positives
ogbl-ddi           Hits@20       one list shared by all positives
ogbl-citation2     MRR           1,000 of its own per positive (source)
=================  ============  =========================================

Hits@20/50/100 are all reported for the first three (OGB's leaderboards
list the official one). For citation2, AUC/AP and graphae's own ranking
metrics use the first of each positive's 1,000 negatives; the official MRR
ranks each positive among all 1,000 of its own, scored in chunks.

Reading needs the ``ogb`` package (``pip install 'graphae[ogb]'``): its
metadata (``master.csv``), its raw-file reader
(:func:`ogb.io.read_graph_raw.read_csv_graph_raw`), its downloader and its
evaluator. The layout is the one ``ogb.linkproppred.LinkPropPredDataset(name,
root=ROOT)`` creates, ``ROOT/ogbl_collab/raw/edge.csv.gz``,
``num-node-list.csv.gz``, ``num-edge-list.csv.gz``, ``node-feat.csv.gz`` and
``ROOT/ogbl_collab/split/<type>/{train,valid,test}.pt``, where ``ROOT`` is
``--data-root``, ``$GRAPHAE_DATA`` or graphae's cache folder. The data root
is only read: a missing data set is downloaded into the cache folder
(``<cache>/ogb/ogbl_collab``), and the parsed graph is cached there
(``processed/graphae.pt``, tensors only, read with ``weights_only=True``;
ogb's own ``processed/data_processed`` is a pickle and is not used). Offline
and without the files, a one-line :class:`~graphae.errors.DataError` says
where they were looked for.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.artifacts.atomic import atomic_path
from graphae.data.link_split import LinkSplit, check_split, undirected_edges
from graphae.data.planetoid import ENV_VAR, default_cache_dir, resolve_data_root
from graphae.errors import DataError

#: The OGB link-prediction data sets graphae reads (homogeneous graphs).
OGB_LINK = ("ogbl-collab", "ogbl-ppa", "ogbl-citation2", "ogbl-ddi")
#: Hits@K cut-offs reported for the data sets with shared negatives.
HITS_KS = (20, 50, 100)
#: Positives (sources) of citation2 scored at once against their 1,000 negatives.
MRR_CHUNK = 4096
CACHE_FILE = "graphae.pt"
_CACHE_FORMAT = 1
_RAW_FILES = ("edge.csv.gz", "num-node-list.csv.gz", "num-edge-list.csv.gz")


def is_ogb_name(name: str | None) -> bool:
    """Whether a data set name asks for an OGB link data set (``ogbl-...``)."""
    return isinstance(name, str) and name.lower().startswith("ogbl-")


@dataclass(frozen=True)
class OgbTask:
    """What scoring a run the official way needs, kept with the graph (``data.ogb_task``).

    Attributes:
        name: the data set, e.g. ``"ogbl-collab"``.
        metric: its official metric, ``"hits@50"`` or ``"mrr"``.
        test_pos: citation2: ``[2, m]`` test positives (source, target), in OGB's order.
        test_target_neg: citation2: ``[m, 1000]`` each positive's own negative targets.

    """

    name: str
    metric: str
    test_pos: torch.Tensor | None = None
    test_target_neg: torch.Tensor | None = None


def import_ogb() -> Any:
    """``ogb.linkproppred``, imported without ogb's check for a newer release.

    ``import ogb`` starts a thread that asks PyPI for ogb's latest version
    (through the ``outdated`` package); graphae hides ``outdated`` during the
    import, so that loading data makes no request and an offline machine
    waits for nothing.

    Raises:
        DataError: the ``ogb`` package is not installed.

    """
    hide = "ogb" not in sys.modules and "outdated" not in sys.modules
    if hide:
        sys.modules["outdated"] = None  # type: ignore[assignment]  # ogb then skips the check
    try:
        from ogb import linkproppred
    except ImportError:
        raise DataError(
            "OGB data sets need the ogb package: pip install 'graphae[ogb]' (or pip install ogb)"
        ) from None
    finally:
        if hide:
            del sys.modules["outdated"]
    return linkproppred


def meta_info(name: str) -> dict[str, str]:
    """OGB's metadata of a link data set (its ``master.csv`` column).

    Raises:
        DataError: ``ogb`` missing, or not one of :data:`OGB_LINK`.

    """
    canonical = name.lower()
    if canonical not in OGB_LINK:
        raise DataError(f"unknown OGB data set {name!r}; known: {', '.join(OGB_LINK)}")
    linkproppred = import_ogb()
    import pandas as pd

    master = Path(linkproppred.__file__).parent / "master.csv"
    table = pd.read_csv(master, index_col=0, keep_default_na=False)
    return {str(k): str(v) for k, v in table[canonical].items()}


def dataset_folder(name: str) -> str:
    """``ogbl_collab`` for ``ogbl-collab``: the folder name ogb uses under its root."""
    return "_".join(name.lower().split("-"))


def load_ogb(name: str, data_root: str | os.PathLike[str] | None = None) -> Data:
    """Load an OGB link data set with its official split.

    Args:
        name (str): ``ogbl-collab``, ``ogbl-ppa``, ``ogbl-citation2`` or ``ogbl-ddi``.
        data_root (str, optional): folder holding ``ogbl_<name>/``; default
            ``$GRAPHAE_DATA`` or the cache folder. Only read. (default: ``None``)

    Returns:
        Data: ``edge_index`` (the training graph, both directions), ``x``
        (float32 node features, or ``None`` for ogbl-ddi), ``num_nodes``,
        ``name``, ``official_split`` (a :class:`LinkSplit` of kind
        ``"official"``) and ``ogb_task`` (:class:`OgbTask`).

    Raises:
        DataError: ``ogb`` not installed, unknown name, files missing and no
            download possible, or files that cannot be read.

    """
    canonical = name.lower()
    meta = meta_info(canonical)
    folder = dataset_folder(canonical)
    looked = resolve_data_root(data_root) / folder
    cached = default_cache_dir() / "ogb" / folder
    source = next((d for d in (looked, cached) if _complete(d, meta)), None)
    if source is None:
        source = _download(canonical, meta, cached, looked)
    fingerprint = _fingerprint(source, meta)
    cache_file = cached / "processed" / CACHE_FILE
    tensors = _read_cache(cache_file, fingerprint)
    if tensors is None:
        tensors = _read_raw(canonical, meta, source)
        _write_cache(cache_file, tensors, fingerprint)
    return _to_data(canonical, meta, tensors)


def _split_dir(folder: Path, meta: dict[str, str]) -> Path:
    return folder / "split" / meta["split"]


def _complete(folder: Path, meta: dict[str, str]) -> bool:
    split = _split_dir(folder, meta)
    has_split = (split / "split_dict.pt").is_file() or all(
        (split / f"{s}.pt").is_file() for s in ("train", "valid", "test")
    )
    return has_split and all((folder / "raw" / f).is_file() for f in _RAW_FILES)


def _fingerprint(folder: Path, meta: dict[str, str]) -> list[list[str | int]]:
    """Path, size and modification time of every file the graph is read from."""
    files = [folder / "raw" / f for f in (*_RAW_FILES, "node-feat.csv.gz")]
    files += sorted(_split_dir(folder, meta).glob("*.pt"))
    out: list[list[str | int]] = []
    for path in files:
        if path.is_file():
            info = path.resolve().stat()
            out.append([str(path.resolve()), info.st_size, info.st_mtime_ns])
    return out


def _read_raw(name: str, meta: dict[str, str], folder: Path) -> dict[str, Any]:
    """Parse the raw files with ogb's reader and load the split (tensors only)."""
    from ogb.io.read_graph_raw import read_csv_graph_raw

    raw = folder / "raw"
    try:
        # ogb prints its progress; graphae's output stays its own
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            (graph,) = read_csv_graph_raw(
                str(raw), add_inverse_edge=meta["add_inverse_edge"] == "True"
            )
    except Exception as exc:
        raise DataError(f"could not read {name} from {raw}: {_short(exc)}") from exc
    split = _read_split(name, _split_dir(folder, meta))
    features = graph.get("node_feat")
    # the raw edges are the training edges again: the graph is built from the split's
    return {
        "num_nodes": torch.tensor(int(graph["num_nodes"])),
        "x": None if features is None else torch.from_numpy(features.astype(np.float32)),
        **split,
    }


def _read_split(name: str, path: Path) -> dict[str, torch.Tensor]:
    """The official split's tensors, flattened to ``"train/edge"``-style keys."""
    try:
        if (path / "split_dict.pt").is_file():
            parts = torch.load(path / "split_dict.pt", map_location="cpu", weights_only=True)
        else:
            parts = {
                s: torch.load(path / f"{s}.pt", map_location="cpu", weights_only=True)
                for s in ("train", "valid", "test")
            }
    except Exception as exc:
        raise DataError(f"could not read the {name} split from {path}: {_short(exc)}") from exc
    out: dict[str, torch.Tensor] = {}
    for part, values in parts.items():
        for key, value in values.items():
            if key in ("edge", "edge_neg", "source_node", "target_node", "target_node_neg"):
                out[f"{part}/{key}"] = torch.as_tensor(value).long()
    return out


def _to_data(name: str, meta: dict[str, str], tensors: dict[str, Any]) -> Data:
    num_nodes = int(tensors["num_nodes"])
    split, task = official_split(name, meta["eval metric"], tensors, num_nodes)
    edge_index = split.train_edge_index()
    data = Data(x=tensors["x"], edge_index=edge_index, num_nodes=num_nodes, name=name)
    data.official_split = split
    data.ogb_task = task
    return data


def _pairs(tensors: dict[str, Any], part: str, negatives: bool = False) -> torch.Tensor:
    """``[2, k]`` pairs of one part of the split, as OGB stores them (``[k, 2]`` or two lists)."""
    key = f"{part}/edge_neg" if negatives else f"{part}/edge"
    if key in tensors:
        return tensors[key].t().contiguous()
    source = tensors[f"{part}/source_node"]
    if not negatives:
        return torch.stack([source, tensors[f"{part}/target_node"]])
    return torch.stack([source, tensors[f"{part}/target_node_neg"][:, 0]])


def official_split(
    name: str, metric: str, tensors: dict[str, Any], num_nodes: int
) -> tuple[LinkSplit, OgbTask]:
    """A :class:`LinkSplit` (kind ``"official"``) from OGB's split tensors, and the task.

    ``train_pos`` holds the distinct undirected training edges (``row <
    col``, self-loops dropped: the encoder's graph). Validation and test
    keep OGB's positives and negatives as given (repeats and pairs also in
    training included, as in OGB's protocol), each pair ordered ``row <=
    col``; for ogbl-citation2 the negatives are the first of each positive's
    1,000, which all go to :class:`OgbTask` for the MRR.

    Raises:
        DataError: a split tensor is missing or names a node outside ``[0, N)``.

    """
    try:
        train = _pairs(tensors, "train")
        sets = {
            "val_pos": _pairs(tensors, "valid"),
            "val_neg": _pairs(tensors, "valid", negatives=True),
            "test_pos": _pairs(tensors, "test"),
            "test_neg": _pairs(tensors, "test", negatives=True),
        }
    except KeyError as exc:
        raise DataError(f"the {name} split has no {exc.args[0]!r}") from None
    for pairs in (train, *sets.values()):
        if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= num_nodes):
            raise DataError(f"the {name} split names a node outside [0, {num_nodes})")
    ordered = {k: torch.stack([v.min(0).values, v.max(0).values]) for k, v in sets.items()}
    split = LinkSplit(
        num_nodes=num_nodes,
        train_pos=undirected_edges(train, num_nodes),
        seed=None,
        kind="official",
        **ordered,
    )
    try:
        check_split(split)
    except ValueError as exc:
        raise DataError(f"the {name} split is invalid: {exc}") from None
    task = OgbTask(name=name, metric=metric)
    if "test/target_node_neg" in tensors:
        negatives = tensors["test/target_node_neg"]
        if negatives.numel() and (int(negatives.min()) < 0 or int(negatives.max()) >= num_nodes):
            raise DataError(f"the {name} split names a node outside [0, {num_nodes})")
        task = OgbTask(name, metric, _pairs(tensors, "test"), negatives)
    return split, task


@torch.no_grad()
def official_metrics(data: Data, decode: Any, z: torch.Tensor) -> dict[str, float]:
    """The OGB evaluator's test metrics of a run on an OGB graph; ``{}`` for any other graph.

    ``ogb_hits@20``, ``ogb_hits@50``, ``ogb_hits@100`` (shared negatives) or
    ``ogb_mrr``, ``ogb_hits@1``, ``ogb_hits@3``, ``ogb_hits@10``
    (citation2), from ``ogb.linkproppred.Evaluator``, as fractions in [0, 1].

    Args:
        data (Data): the graph (its ``ogb_task`` and ``official_split``).
        decode (callable): ``(z, pairs[2, k]) -> logits``.
        z (Tensor): ``N x d`` embeddings.

    """
    task = getattr(data, "ogb_task", None)
    split = getattr(data, "official_split", None)
    if not isinstance(task, OgbTask) or not isinstance(split, LinkSplit):
        return {}
    from graphae.evaluation.link_prediction import decode_in_chunks

    evaluator = import_ogb().Evaluator(task.name)
    if task.test_target_neg is None:
        pos = decode_in_chunks(decode, z, split.test_pos.to(z.device)).float().cpu()
        neg = decode_in_chunks(decode, z, split.test_neg.to(z.device)).float().cpu()
        out = {}
        for k in HITS_KS:
            evaluator.K = k  # what OGB's examples do to report several cut-offs
            scores = evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})
            out[f"ogb_hits@{k}"] = float(scores[f"hits@{k}"])
        return out
    assert task.test_pos is not None
    lists: dict[str, list[torch.Tensor]] = {}
    test_pos, negatives = task.test_pos, task.test_target_neg
    for start in range(0, test_pos.shape[1], MRR_CHUNK):
        stop = min(start + MRR_CHUNK, test_pos.shape[1])
        pos, neg = test_pos[:, start:stop], negatives[start:stop]
        pos_scores = decode(z, pos.to(z.device)).float().cpu()
        pairs = torch.stack([pos[0].repeat_interleave(neg.shape[1]), neg.reshape(-1)])
        neg_scores = decode_in_chunks(decode, z, pairs.to(z.device)).float().cpu()
        result = evaluator.eval(
            {"y_pred_pos": pos_scores, "y_pred_neg": neg_scores.view(pos.shape[1], -1)}
        )
        for key, values in result.items():
            lists.setdefault(key, []).append(values.float())
    return {
        "ogb_" + key.removesuffix("_list"): float(torch.cat(values).mean())
        for key, values in lists.items()
    }


def _read_cache(path: Path, fingerprint: list) -> dict[str, Any] | None:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception:  # corrupt: rebuilt below
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if not isinstance(blob, dict) or blob.get("format") != _CACHE_FORMAT:
        return None
    if blob.get("fingerprint") != fingerprint:
        return None
    return blob["tensors"]


def _write_cache(path: Path, tensors: dict[str, Any], fingerprint: list) -> None:
    """Cache the parsed graph; a cache folder that cannot be written only costs speed."""
    blob = {"format": _CACHE_FORMAT, "fingerprint": fingerprint, "tensors": tensors}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)


def _download(name: str, meta: dict[str, str], target: Path, looked_in: Path) -> Path:
    """Fetch and unpack the data set with ogb's downloader into ``target``."""
    from ogb.utils.url import download_url, extract_zip

    places = f"{looked_in}" if looked_in == target else f"{looked_in} and {target}"
    fix = (
        f'Fix: download it where there is internet (python -c "from ogb.linkproppred import '
        f"LinkPropPredDataset; LinkPropPredDataset('{name}', root='DIR')\") and pass "
        f"--data-root DIR (or set {ENV_VAR}=DIR)"
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=target.parent))
    except OSError as exc:
        raise DataError(
            f"{name} not found in {places}, and no folder to download to ({exc})"
        ) from exc
    try:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                archive = download_url(meta["url"], str(tmp))
                extract_zip(archive, str(tmp))
        except Exception as exc:
            raise DataError(
                f"{name} not found in {places} and could not be downloaded ({_short(exc)}). {fix}"
            ) from exc
        unpacked = tmp / meta["download_name"]
        if not _complete(unpacked, meta):
            raise DataError(f"the {name} download lacks its raw files or split. {fix}")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(unpacked, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
