"""Every command in README.md and docs/*.md is parsed by the real parser, and run.

What each line of a ```bash block is, and how it is exercised:

* ``graphae ...``: parsed by :func:`graphae.cli.build_parser` (default run,
  every document); run in-process by :func:`test_doc_runs`, the blocks of a
  document in order in one scratch folder (a copy of ``examples/``,
  ``GRAPHAE_DATA`` pointing at a copy of the shared data sets), as written or
  as listed in :data:`SHORTENED`.
* ``python benchmarks/NAME.py ...``: parsed by the script's own argparse
  parser (the script runs up to its ``parse_args`` and stops there). The
  benchmarks take minutes to hours; :func:`test_benchmarks_run_shortened`
  (slow) runs those in :data:`BENCHMARKS_SHORTENED` with tiny settings.
* ``tensorboard --logdir DIR``: tensorboard is installed and, once the block
  ran, ``DIR`` holds event files.
* ``source .venv/bin/activate``, ``export GRAPHAE_DATA=...``: the
  environment the runs here set up themselves.
* the README's two setup commands (venv, pip, ruff, pytest): checked by
  ``tests/test_readme.py`` (the second is what ``.ci/run`` runs).

```python blocks are executed in the same scratch folder (with the
substitutions of :data:`PYTHON_SHORTENED`); ```text blocks are output and
are not run. ``../shared/datasets`` in a command is the copy of the data.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from graphae.cli import build_parser, main
from tests.conftest import shared_datasets

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DATA_IN_DOCS = "../shared/datasets"

#: Commands the runs shorten, as written -> as run. Everything else runs as written.
SHORTENED = {
    # README.md, docs/results.md: 24 runs of up to 1000 epochs (5 min) -> 8 runs of 2-3 epochs
    "graphae sweep --model gae vgae --dataset CiteSeer --latent-dim 2 20 --epochs 100 1000 "
    "--seeds 3": "graphae sweep --model gae vgae --dataset CiteSeer --latent-dim 2 20 "
    "--epochs 2 3 --seeds 1 --no-figures",
    # README.md: the whole Table 1 (22 min) and a quick look (18 runs)
    "graphae reproduce kipf2016": "graphae reproduce kipf2016 --datasets Cora --methods GAE "
    "--runs 1 --epochs 2",
    "graphae reproduce kipf2016 --datasets Cora --runs 3": "graphae reproduce kipf2016 "
    "--datasets Cora --methods SC GAE --runs 1 --epochs 2",
    # docs/results.md: the whole Table 1, and its PubMed autoencoders (40 runs)
    "graphae reproduce kipf2016 --data-root ../shared/datasets": "graphae reproduce kipf2016 "
    "--data-root ../shared/datasets --datasets Cora --methods SC GAE VGAE --runs 1 --epochs 2",
    "graphae reproduce kipf2016 --datasets PubMed --methods 'GAE*' 'VGAE*' GAE VGAE": "graphae "
    "reproduce kipf2016 --datasets PubMed --methods 'GAE*' 'VGAE*' GAE VGAE --runs 1 --epochs 2",
    # docs/results.md: MaskGAE's protocol (40 runs of Cora and CiteSeer, PubMed's 10, the
    # ensembles' 60 on CiteSeer) -> one run of 2 epochs each; README.md: 3 x 5 snapshots
    "graphae reproduce maskgae2023 --datasets Cora CiteSeer --methods 'MaskGAE edge split2022' "
    "'MaskGAE edge' 'MaskGAE path split2022' 'MaskGAE path' --threads 1": "graphae reproduce "
    "maskgae2023 --datasets Cora --methods 'MaskGAE edge' --runs 1 --epochs 2 --threads 1",
    "graphae reproduce maskgae2023 --datasets PubMed --methods 'MaskGAE edge split2022' "
    "'MaskGAE path split2022' --runs 5 --threads 1": "graphae reproduce maskgae2023 --datasets "
    "PubMed --methods 'MaskGAE path split2022' --runs 1 --epochs 2 --threads 1",
    "graphae reproduce maskgae2023 --datasets CiteSeer --methods 'MaskGAE edge split2022 x3' "
    "'MaskGAE path split2022 x3' --threads 1": "graphae reproduce maskgae2023 --datasets "
    "CiteSeer --methods 'MaskGAE edge split2022 x3' --runs 1 --epochs 2 --threads 1",
    "graphae reproduce maskgae2023 --datasets PubMed --methods 'MaskGAE path split2022 x3' "
    "--runs 5 --threads 1": "graphae reproduce maskgae2023 --datasets PubMed --methods "
    "'MaskGAE path split2022 x3' --runs 1 --epochs 2 --threads 1",
    "graphae reproduce maskgae2023 --datasets Cora CiteSeer --methods 'MaskGAE edge split2022 "
    "snap5' 'MaskGAE path split2022 snap5' --threads 1": "graphae reproduce maskgae2023 "
    "--datasets Cora --methods 'MaskGAE edge split2022 snap5' --runs 1 --epochs 50 --threads 1",
    "graphae train --model maskgae --dataset CiteSeer --ensemble 3 --snapshots 5": "graphae train "
    "--model maskgae --dataset CiteSeer --ensemble 2 --snapshots 2 --epochs 4",
    # docs/cli.md
    "graphae train --model gae --dataset PubMed --objective sampled --epochs 100 --seed 3 "
    "--name pubmed_sampled": "graphae train --model gae --dataset PubMed --objective sampled "
    "--epochs 3 --seed 3 --name pubmed_sampled",
    "graphae train --dataset synthetic:nodes=5000,edges=20000,features=32 --model gae": "graphae "
    "train --dataset synthetic:nodes=5000,edges=20000,features=32 --model gae --epochs 3",
    "graphae sweep --model gae vgae --dataset Cora --latent-dim 8 16 --epochs 50 --seeds 2 "
    "--no-figures": "graphae sweep --model gae vgae --dataset Cora --latent-dim 8 16 --epochs 2 "
    "--seeds 2 --no-figures",
    # 12 runs of 500 epochs (~4 min) -> 4 runs of 2
    "graphae sweep --model maskgae --dataset CiteSeer --mask edge path --dropout 0.5 0.8 "
    "--seeds 3": "graphae sweep --model maskgae --dataset CiteSeer --mask edge path --dropout "
    "0.5 0.8 --epochs 2 --no-figures",
    "graphae reproduce kipf2016 --datasets Cora CiteSeer --methods GAE VGAE --runs 3 "
    "--out runs/table1_quick": "graphae reproduce kipf2016 --datasets Cora CiteSeer --methods "
    "GAE VGAE --runs 1 --epochs 2 --out runs/table1_quick",
    # README.md: 100k nodes, 50 epochs of ~1 s -> 6,000 nodes (still sampled), 3 epochs
    "graphae train --dataset synthetic:nodes=100000,edges=1000000 --model gae --epochs 50 "
    "--threads 1": "graphae train --dataset synthetic:nodes=6000,edges=30000 --model gae "
    "--epochs 3 --threads 1",
    # README.md, docs/vae.md: 60,000 Fashion-MNIST images -> the first 500 (same run names)
    "graphae vae --dataset fashion-mnist --latent-dim 2 5 10 20 --epochs 20": "graphae vae "
    "--dataset fashion-mnist --latent-dim 2 5 10 20 --epochs 20 --train-size 500 --test-size 100",
    "graphae vae --dataset fashion-mnist --latent-dim 20 --optimizer adam --lr-schedule cosine "
    "--batch-size 32": "graphae vae --dataset fashion-mnist --latent-dim 20 --optimizer adam "
    "--lr-schedule cosine --batch-size 32 --epochs 2 --train-size 500 --test-size 100",
}

#: Substitutions in ```python blocks, as written -> as run.
PYTHON_SHORTENED = {
    # docs/python.md: 20 epochs on 60,000 images -> 1 epoch on 500
    'VAEConfig(dataset="fashion-mnist", latent_dim=20, epochs=20)': 'VAEConfig(dataset="fashion-'
    'mnist", latent_dim=20, epochs=1, train_size=500, test_size=100)',
}

#: Benchmarks the slow test runs, as written -> as run (the others are only parsed).
BENCHMARKS_SHORTENED = {
    "python benchmarks/dense_loss.py --data-root ../shared/datasets --steps 50": "python "
    "benchmarks/dense_loss.py --data-root ../shared/datasets --steps 2 --datasets Cora",
    "python benchmarks/isolated_test_pairs.py --data-root ../shared/datasets": "python "
    "benchmarks/isolated_test_pairs.py --data-root ../shared/datasets --datasets Cora",
    "python benchmarks/link_prediction.py --data-root ../shared/datasets": "python "
    "benchmarks/link_prediction.py --data-root ../shared/datasets --datasets Cora --models gae "
    "--seeds 1 --epochs 2 --out results",
    "python benchmarks/objective_choice.py --sizes 2000:4000 --seeds 1 --epochs 50": "python "
    "benchmarks/objective_choice.py --sizes 2000:4000 --seeds 1 --epochs 3 --models gae",
    "python benchmarks/own_graph.py": "python benchmarks/own_graph.py --sizes 2000:8000 --epochs 2",
    "python benchmarks/minibatch.py cora --data-root ../shared/datasets --seeds 3": "python "
    "benchmarks/minibatch.py cora --data-root ../shared/datasets --seeds 1 --epochs 2",
    "python benchmarks/distributed.py --parts --nodes 100000 --edges 1000000 --epochs 5": "python "
    "benchmarks/distributed.py --parts --nodes 2000 --edges 10000 --epochs 2",
    "python benchmarks/pyg_example_lockstep.py --data-root ../shared/datasets": "python "
    "benchmarks/pyg_example_lockstep.py --data-root ../shared/datasets --seeds 0 --epochs 3",
    "python benchmarks/snapshot_rules.py --datasets CiteSeer --seeds 10 --every 5 --threads 1 "
    "--data-root ../shared/datasets": "python benchmarks/snapshot_rules.py --datasets Cora "
    "--seeds 1 --every 50 --threads 1 --data-root ../shared/datasets",
    "python benchmarks/pyg_example_speed.py --data-root ../shared/datasets --datasets Cora "
    "CiteSeer --threads 1": "python benchmarks/pyg_example_speed.py --data-root "
    "../shared/datasets --datasets Cora --models gae --seeds 1 --epochs 3 --threads 1",
}

#: Documents whose run takes more than a few seconds: run with ``-m slow``.
SLOW_RUNS = {
    "README.md",
    "cli.md",
    "own-graph.md",
    "python.md",
    "results.md",
    "runs.md",
    "vae.md",
}


@dataclass(frozen=True)
class Block:
    """A fenced code block of a document."""

    doc: Path
    line: int
    language: str
    text: str

    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def code_blocks(doc: Path) -> list[Block]:
    """The fenced code blocks of ``doc``, in order (indented ones too)."""
    text = doc.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", text, flags=re.S | re.M):
        body = "\n".join(line[len(m.group(1)) :] for line in m.group(3).splitlines())
        line = text.count("\n", 0, m.start()) + 1
        blocks.append(Block(doc, line, m.group(2), body))
    return blocks


def tokens(command: str) -> tuple[str, ...]:
    """A command line as shell words, without its trailing comment."""
    return tuple(shlex.split(command, comments=True))


def commands(block: Block) -> list[tuple[str, ...]]:
    """The commands of a bash block: one per line, ``&&`` chains split, comments dropped."""
    out = []
    for line in block.text.splitlines():
        words = tokens(line)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(words[:cut])
            words = words[cut + 1 :]
    return [c for c in out if c]


def program(command: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """``command`` without leading ``VAR=value`` words and ``.venv/bin/``, and its kind."""
    while command and re.fullmatch(r"[A-Z_]+=\S*", command[0]):
        command = command[1:]
    command = (command[0].removeprefix(".venv/bin/"), *command[1:])
    name = command[0]
    if name == "graphae":
        return command, "graphae"
    if name in ("python", "python3") and command[1].startswith("benchmarks/"):
        return command, "benchmark"
    if name == "tensorboard":
        return command, "tensorboard"
    if name in ("source", "export"):
        return command, "environment"
    if name in ("pip", "ruff") or command[:3] in (
        ("python3", "-m", "venv"),
        ("python", "-m", "pytest"),
    ):
        return command, "setup"
    raise AssertionError(f"unknown kind of command {' '.join(command)!r}: teach tests/test_docs.py")


def all_commands() -> Iterator[tuple[Block, tuple[str, ...], str]]:
    for doc in DOCS:
        for block in code_blocks(doc):
            if block.language == "bash":
                for command in commands(block):
                    yield (block, *program(command))


def shortened(command: tuple[str, ...], table: dict[str, str]) -> tuple[str, ...]:
    by_tokens = {tokens(k): tokens(v) for k, v in table.items()}
    return by_tokens.get(command, command)


def with_data(command: tuple[str, ...], data: Path) -> list[str]:
    return [str(data) if word == DATA_IN_DOCS else word for word in command]


# -- parsing ------------------------------------------------------------------------------


class _Parsed(Exception):
    def __init__(self, namespace: argparse.Namespace) -> None:
        self.namespace = namespace


def parse_graphae(command: tuple[str, ...]) -> argparse.Namespace:
    try:
        return build_parser().parse_args(list(command[1:]))
    except SystemExit as exc:
        raise AssertionError(f"graphae's parser rejects {' '.join(command)!r}") from exc


def parse_benchmark(
    command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> argparse.Namespace:
    """Run the benchmark script up to its ``parse_args`` and return what it parsed."""
    script = REPO / command[1]
    assert script.is_file(), f"{command[1]} does not exist"
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
        m.setattr(sys, "argv", [str(script), *command[2:]])
        m.syspath_prepend(str(script.parent))
        try:
            runpy.run_path(str(script), run_name="__main__")
        except _Parsed as parsed:
            return parsed.namespace
        except SystemExit as exc:
            raise AssertionError(f"{command[1]}'s parser rejects {' '.join(command)!r}") from exc
    raise AssertionError(f"{command[1]} never parsed its arguments")


def test_every_command_parses(monkeypatch):
    seen = set()
    for block, command, kind in all_commands():
        where = block.where()
        if kind == "graphae":
            for variant in {command, shortened(command, SHORTENED)}:
                parse_graphae(variant)
        elif kind == "benchmark":
            for variant in {command, shortened(command, BENCHMARKS_SHORTENED)}:
                parse_benchmark(variant, monkeypatch)
        elif kind == "setup":
            assert block.doc.name == "README.md", f"{where}: setup commands belong in the README"
        elif kind == "tensorboard":
            assert command[1] == "--logdir" and len(command) == 3, where
        seen.add(kind)
    assert {"graphae", "benchmark", "tensorboard", "environment", "setup"} <= seen


def test_shortened_commands_are_in_the_docs():
    written = {command for _, command, _ in all_commands()}
    for table in (SHORTENED, BENCHMARKS_SHORTENED):
        stale = [k for k in table if tokens(k) not in written]
        assert not stale, f"no longer in any document, remove from the test: {stale}"
    python = "".join(b.text for doc in DOCS for b in code_blocks(doc) if b.language == "python")
    assert all(k in python for k in PYTHON_SHORTENED), "a PYTHON_SHORTENED entry is stale"
    assert all((REPO / ("docs" if d != "README.md" else "") / d).is_file() for d in SLOW_RUNS)


def test_blocks_are_bash_python_or_text():
    for doc in DOCS:
        for block in code_blocks(doc):
            assert block.language in ("bash", "python", "text"), (
                f"{block.where()}: give the block a language (bash, python or text)"
            )


# -- the CLI reference ----------------------------------------------------------------------


def parsers(
    parser: argparse.ArgumentParser, path: str = "graphae"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, named ``graphae train``, ``graphae vae sample``, ..."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def documented_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)
    return [a for a in parser._actions if not isinstance(a, skip) and a.help != argparse.SUPPRESS]


def cli_sections() -> dict[str, str]:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    parts = re.split(r"^#{2,3} (graphae[a-z ]*)\n", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def option_rows(section: str) -> list[tuple[str, str]]:
    """(first cell, whole row) of the ``| option | default | meaning |`` table."""
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [(row.split(" | ")[0], row) for row in rows[1:] if not row.startswith("|---")]


def flags(cell: str) -> list[str]:
    return re.findall(r"--[a-z][a-z0-9-]*", cell)


def test_cli_reference_lists_every_option_of_every_command():
    """One section per command; its table lists exactly the parser's options, with every choice."""
    sections = cli_sections()
    commands_ = dict(parsers(build_parser()))
    del commands_["graphae"]
    assert set(sections) == set(commands_), "docs/cli.md needs one section per command"
    assert "`graphae --version`" in (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, parser in commands_.items():
        rows = option_rows(sections[name])
        documented = {flag for cell, _ in rows for flag in flags(cell)}
        actions = list(documented_actions(parser))
        options = {s for a in actions for s in a.option_strings}
        assert documented == options, (
            f"{name}: missing in docs/cli.md {sorted(options - documented)}, "
            f"not an option {sorted(documented - options)}"
        )
        for action in actions:
            if action.option_strings:
                (row,) = [r for cell, r in rows if action.option_strings[0] in flags(cell)]
            else:
                label = (action.metavar or action.dest).upper()
                matches = [r for cell, r in rows if cell.strip("| `").split()[0] == label]
                assert matches, f"{name}: positional {label} missing in docs/cli.md"
                row = matches[0]
            for choice in action.choices or ():
                assert str(choice) in row, f"{name}: choice {choice!r} missing in {row!r}"


# -- links ------------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_links_and_images_resolve():
    for doc in [*DOCS, REPO / "CHANGELOG.md"]:
        text = doc.read_text(encoding="utf-8")
        targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
        for target in targets:
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            assert file.exists(), f"{doc.name}: broken link {target}"
            if anchor:
                assert anchor in anchors(file), f"{doc.name}: no heading for {target}"
    for png in (REPO / "docs").glob("*.png"):
        used = any(png.name in d.read_text(encoding="utf-8") for d in DOCS)
        assert used, f"docs/{png.name} is not shown anywhere"


# -- running ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def data_copy(tmp_path_factory) -> Path:
    """A private copy of the shared data sets (Planetoid, Fashion-MNIST)."""
    source = shared_datasets()
    if source is None:
        pytest.skip("no shared data sets: set GRAPHAE_TEST_DATA or provide ../shared/datasets")
    root = tmp_path_factory.mktemp("docs_data")
    for name in ("Planetoid", "FashionMNIST"):
        if (source / name).is_dir():
            shutil.copytree(source / name, root / name)
    return root


@pytest.fixture
def scratch(tmp_path, monkeypatch, data_copy) -> Path:
    """A folder like a checkout: ``examples/``, ``GRAPHAE_DATA`` set, one torch thread."""
    import torch

    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAPHAE_DATA", str(data_copy))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # results do not depend on it; runs beside other jobs are faster
    yield tmp_path
    torch.set_num_threads(threads)


def run_graphae(command: tuple[str, ...], data: Path, capsys: pytest.CaptureFixture) -> str:
    argv = with_data(shortened(command, SHORTENED), data)
    code = main(argv[1:])
    out, err = capsys.readouterr()
    assert code == 0, f"{' '.join(argv)} exited {code}: {err}"
    return out


def run_block(block: Block, data: Path, capsys: pytest.CaptureFixture) -> None:
    if block.language == "python":
        code = block.text
        for written, short in PYTHON_SHORTENED.items():
            code = code.replace(written, short)
        exec(compile(code, block.where(), "exec"), {})
        capsys.readouterr()
        return
    if block.language != "bash":
        return
    for command in commands(block):
        command, kind = program(command)
        if kind == "graphae":
            run_graphae(command, data, capsys)
        elif kind == "tensorboard":
            assert importlib.util.find_spec("tensorboard") is not None
            events = list(Path(command[2]).rglob("events.out.tfevents.*"))
            assert events, f"{block.where()}: no TensorBoard events under {command[2]}"
        elif kind == "environment" and command[0] == "export":
            assert command[1] == f"GRAPHAE_DATA={DATA_IN_DOCS}", block.where()


def runnable(doc: Path) -> bool:
    """Whether ``doc`` has a command or code that :func:`run_block` runs."""
    return any(
        block.language == "python"
        or any(program(c)[1] in ("graphae", "tensorboard") for c in commands(block))
        for block in code_blocks(doc)
        if block.language in ("bash", "python")
    )


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(d, id=d.name, marks=[pytest.mark.slow] if d.name in SLOW_RUNS else [])
        for d in DOCS
        if runnable(d)
    ],
)
def test_doc_runs(doc, scratch, data_copy, capsys):
    """The document's commands and code, in order, in one folder (see SHORTENED)."""
    for block in code_blocks(doc):
        run_block(block, data_copy, capsys)


def test_own_graph_python_example_runs(scratch, capsys):
    (block,) = [b for b in code_blocks(REPO / "docs" / "own-graph.md") if b.language == "python"]
    exec(compile(block.text, block.where(), "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and all(len(line.split()) == 2 for line in lines)
    assert lines[0].split()[0] != "nevi"
    assert (scratch / "friends_embeddings.npy").is_file()
    assert (scratch / "friends_embeddings.ids.txt").is_file()


@pytest.mark.slow
def test_benchmarks_run_shortened(tmp_path, data_copy):
    """The benchmarks of BENCHMARKS_SHORTENED, shortened, as scripts (they print tables)."""
    for written, short in BENCHMARKS_SHORTENED.items():
        argv = with_data(tokens(short), data_copy)
        argv[0], argv[1] = sys.executable, str(REPO / argv[1])
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{short}:\n{done.stderr[-2000:]}"
        assert done.stdout.strip(), f"{written} printed nothing"
