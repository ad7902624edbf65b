"""The README is a short user guide whose quick start and example commands work as written.

``tests/test_docs.py`` parses every command of the README and docs/ (and runs
all of them with ``-m slow``); here: the README's size, its two setup
commands, the quick start's output, and the "Your own graph" commands, run
as written.
"""

import re
import shutil
from pathlib import Path

import pytest

from graphae.cli import main
from tests.test_docs import code_blocks, commands, program

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

#: The two setup commands, first in the README, verbatim (.ci/run runs the second).
INSTALL_AND_TRAIN = (
    "python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e . && "
    "GRAPHAE_DATA=../shared/datasets .venv/bin/graphae train --model vgae --dataset Cora"
)
INSTALL_AND_TEST = (
    'python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e ".[dev]" && '
    ".venv/bin/ruff check . && .venv/bin/python -m pytest"
)


def section_blocks(section: str, language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else None]
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.S)


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail to docs/"


def test_setup_commands_come_first_verbatim():
    first = code_blocks(README)[0]
    lines = [line for line in first.text.splitlines() if line and not line.startswith("#")]
    assert lines == [INSTALL_AND_TRAIN, INSTALL_AND_TEST]
    assert README.read_text(encoding="utf-8").index("```bash") > README.read_text(
        encoding="utf-8"
    ).index("## Quick start")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci.endswith(INSTALL_AND_TEST)
    assert (REPO / "constraints.txt").is_file()


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_quick_start_prints_what_the_readme_shows(scratch, data_root, capsys, monkeypatch):
    """The first command's graphae part, run as written, prints the README's output."""
    (train,) = [c for c in commands(code_blocks(README)[0]) if program(c)[1] == "graphae"]
    command, _ = program(train)
    monkeypatch.setenv("GRAPHAE_DATA", str(data_root))
    assert main(list(command[1:])) == 0
    out = capsys.readouterr().out
    (shown,) = section_blocks("Quick start", "text")

    def steady(text: str) -> str:  # the seconds vary with the machine
        return re.sub(r"seed 0, [0-9.]+ s\)", "seed 0, … s)", text).strip()

    assert steady(out) == steady(shown)


def test_own_graph_commands_run_as_written(scratch, capsys):
    (block,) = section_blocks("Your own graph", "bash")
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) >= 5 and all(line.startswith("graphae ") for line in lines)
    for line in lines:
        assert main(line.split()[1:]) == 0, line
    out = capsys.readouterr().out
    assert "GAE on friends" in out and "top 5 partners of nevi" in out
    for name in ("friends_embeddings.csv", "friends_scores.csv", "friends_inductive.csv"):
        assert (scratch / name).is_file()
    assert (scratch / "runs" / "gae_friends_16d_200ep" / "nodes.txt").is_file()
    assert (scratch / "runs" / "gae_friends_16d_200ep" / "probes.json").is_file()
    assert (scratch / "runs" / "gae_friends_16d_200ep_inductive" / "metrics.json").is_file()
