"""Helpers of the data-parallel tests: a ``torchrun`` launcher, one-process runs, rank checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphae.pipeline import RunResult, train


def torchrun(tmp_path: Path, *args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node NPROC ARGS`` in ``tmp_path``, 1 thread a rank."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", str(nproc), *args]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )


def train_ddp(tmp_path: Path, graph: str, *flags: str) -> subprocess.CompletedProcess:
    """``graphae train --dataset GRAPH FLAGS`` on 2 ranks, into ``tmp_path/runs/ddp``."""
    common = ["--threads", "1", "--quiet", "--no-figures", "--runs-dir", "runs", "--name", "ddp"]
    return torchrun(tmp_path, "-m", "graphae", "train", "--dataset", graph, *flags, *common)


def one_process(**settings: Any) -> RunResult:
    """``graphae.train(**settings)`` in this process on one thread, as each rank runs, unsaved."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(quiet=True, save=False, **settings)
    finally:
        torch.set_num_threads(threads)


Step = tuple[dict[str, float], dict[str, torch.Tensor]]


def assert_ranks_average_to_one_process(full: Step, ranks: list[Step]) -> None:
    """The ranks' loss parts and gradients average to one process's; each rank's differ.

    ``full`` and each of ``ranks``: ``(loss parts, gradients by parameter name)``
    of one step; the decoder's gradient of a single rank must differ from the
    full one (each rank decodes only its share).
    """
    full_parts, full_grads = full
    for name in full_parts:
        mean = np.mean([parts[name] for parts, _ in ranks])
        assert mean == pytest.approx(full_parts[name], rel=1e-5), name
    for name, gradient in full_grads.items():
        mean_gradient = torch.stack([grads[name] for _, grads in ranks]).mean(0)
        torch.testing.assert_close(mean_gradient, gradient, rtol=1e-4, atol=1e-6, msg=name)
    decoder = next(name for name in full_grads if name.startswith("decoder"))
    assert not torch.allclose(ranks[0][1][decoder], full_grads[decoder], rtol=1e-3, atol=1e-6)
