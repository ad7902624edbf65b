"""The default thread policy: OpenMP threads sleep while they wait, unless the user chose."""

import json
import os
import subprocess
import sys

import pytest


def _policy_seen_by_a_fresh_process(env: dict[str, str]) -> str:
    code = "import graphae, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "PASSIVE"),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"),
        ({"GOMP_SPINCOUNT": "300000"}, "None"),  # a spin count is a choice too
    ],
)
def test_graphae_sets_passive_wait_unless_the_user_chose(given, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    assert _policy_seen_by_a_fresh_process({**env, **given}) == expected


def test_threads_and_wait_policy_are_recorded(planted, tmp_path):
    import torch

    from graphae import TrainConfig, train

    config = TrainConfig(dataset="planted", epochs=3, runs_dir=str(tmp_path), quiet=True)
    result = train(config, data=planted, figures=False)
    info = json.loads((result.run_dir / "config.json").read_text())
    assert info["torch_threads"] == torch.get_num_threads()
    assert info["omp_wait_policy"] == os.environ.get("OMP_WAIT_POLICY")
