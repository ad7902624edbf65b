"""The README's "Your own graph" commands, run as written (in a scratch folder)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from graphae.cli import main

REPO = Path(__file__).resolve().parents[1]


def readme_blocks(section: str, language: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else None]
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.S)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_own_graph_commands_run_as_written(scratch, capsys):
    (block,) = readme_blocks("Your own graph", "bash")
    commands = [shlex.split(line) for line in block.splitlines() if line.strip()]
    assert len(commands) >= 5 and all(c[0] == "graphae" for c in commands)
    for command in commands:
        assert main(command[1:]) == 0, command
    out = capsys.readouterr().out
    assert "GAE on friends" in out and "top 5 partners of nevi" in out
    for name in ("friends_embeddings.csv", "friends_scores.csv", "friends_inductive.csv"):
        assert (scratch / name).is_file()
    assert (scratch / "runs" / "gae_friends_16d_200ep" / "nodes.txt").is_file()
    assert (scratch / "runs" / "gae_friends_16d_200ep_inductive" / "metrics.json").is_file()


def test_own_graph_python_example_runs(scratch, capsys):
    (block,) = readme_blocks("Your own graph", "python")
    exec(compile(block, "README.md", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and all(len(line.split()) == 2 for line in lines)
    assert (scratch / "friends_embeddings.npy").is_file()
    assert (scratch / "friends_embeddings.ids.txt").is_file()
