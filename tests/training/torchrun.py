"""Launch a 2-process gloo job with ``torchrun`` for the data-parallel tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
