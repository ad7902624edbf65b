"""Check TensorBoard's HParams table on a runs folder mixing graph, baseline and VAE runs.

Builds a small folder like a user's ``runs/`` (four GAE/VGAE runs of two
latent sizes and 10 or 100 epochs on a planted-partition graph, a spectral
baseline, and an image VAE on scikit-learn's digits), starts a real
``tensorboard --logdir`` on it and reads the HParams table twice:

1. through the HParams plugin's HTTP API, as its dashboard asks
   (``POST /data/plugin/hparams/experiment`` and ``/session_groups``);
2. in a headless Chromium (Playwright driving the system's ``chromium``):
   the HParams tab's table as a user sees it, with the columns shown by
   default (TensorBoard ticks the first five settings, varying ones first,
   and the first five metrics).

Every run must be a row with its own model, latent_dim and epochs, and the
graph runs their test AUC; each trial id must start differently in the
characters the column shows. Prints both tables and exits 1 on a failure::

    python scripts/tensorboard_check.py                  # build a folder, API + browser
    python scripts/tensorboard_check.py --keep runs_tb   # and keep the folder there
    python scripts/tensorboard_check.py --logdir runs --no-build   # an existing folder

The browser check needs ``pip install playwright`` and a Chromium
(``apt-get install chromium``, or ``--chromium PATH``); without them it is
skipped, and the script says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: (model, latent size, epochs) of the graph runs: two of each, epochs 10x apart.
GRAPH_RUNS = (("gae", 2, 10), ("vgae", 2, 100), ("gae", 16, 100), ("vgae", 16, 10))
#: Settings the check looks for in every row.
SETTINGS = ("model", "latent_dim", "epochs")
#: Scores: a graph run's test AUC, an image VAE's test −ELBO (nats per image).
AUC, ELBO = "test/auc", "test/neg_elbo"
#: Statuses the dashboard asks for.
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def build_runs(folder: Path) -> dict[str, dict[str, Any]]:
    """Train the mixed runs into ``folder``; return what each row must show, by run folder name."""
    import torch

    from graphae import TrainConfig, train
    from graphae.baselines import spectral_embedding
    from graphae.data.link_split import split_edges
    from graphae.data.synthetic import planted_partition
    from graphae.pipeline import evaluate_embedding
    from graphae.vae import VAEConfig, train_vae

    torch.set_num_threads(1)
    graph = planted_partition(num_blocks=4, block_size=50, p_in=0.3, p_out=0.01, seed=0)
    graph.name = "planted"
    expected: dict[str, dict[str, Any]] = {}
    for model, latent, epochs in GRAPH_RUNS:
        config = TrainConfig(
            model=model,
            latent_dim=latent,
            epochs=epochs,
            runs_dir=str(folder),
            quiet=True,
            figures=False,
        )
        result = train(config, data=graph)
        expected[result.run_dir.name] = {
            "model": model,
            "latent_dim": latent,
            "epochs": epochs,
            AUC: result.metrics["test"]["auc"],
        }
    split = split_edges(graph.edge_index, int(graph.num_nodes), seed=0)
    baseline = evaluate_embedding(
        "sc",
        lambda edges, n: spectral_embedding(edges, n, dim=8),
        graph,
        split,
        settings={"dim": 8},
        dataset="planted",
        runs_dir=folder,
    )
    expected[baseline.run_dir.name] = {
        "model": "sc",
        "latent_dim": 8,
        AUC: baseline.metrics["test"]["auc"],
    }
    vae = train_vae(
        VAEConfig(
            dataset="digits",
            latent_dim=2,
            hidden=(32,),
            epochs=2,
            train_size=300,
            test_size=100,
            runs_dir=str(folder),
            quiet=True,
        )
    )
    expected[vae.run_dir.name] = {
        "model": "vae",
        "latent_dim": 2,
        "epochs": 2,
        ELBO: vae.metrics["test"]["neg_elbo"],
    }
    return expected


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON to the HParams plugin, as its dashboard does; the JSON answer."""
    request = urllib.request.Request(
        f"{url}/data/plugin/hparams/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def session_groups(url: str, experiment: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the HParams table with all its settings and metrics."""
    columns = [{"hparam": h["name"]} for h in experiment.get("hparamInfos", [])]
    columns += [{"metric": m["name"]} for m in experiment.get("metricInfos", [])]
    body = {
        "experimentName": "",
        "allowedStatuses": STATUSES,
        "colParams": columns,
        "startIndex": 0,
        "sliceSize": 1000,
    }
    return post(url, "session_groups", body).get("sessionGroups", [])


@contextlib.contextmanager
def tensorboard(logdir: Path, runs: int, timeout: float = 120.0) -> Iterator[str]:
    """Serve ``logdir`` with a real TensorBoard; yields its URL once ``runs`` rows are loaded."""
    port = free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    command += ["--port", str(port), "--host", "127.0.0.1", "--reload_interval", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"tensorboard exited with {process.returncode}: {error[-500:]}")
            try:
                experiment = post(url, "experiment", {"experimentName": ""})
                if len(session_groups(url, experiment)) >= runs:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tensorboard showed fewer than {runs} runs in {timeout:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _value(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def api_table(url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """``(setting names in TensorBoard's order, one dict per row)`` from the HTTP API.

    A row holds ``trial_id``, every setting and every metric (by tag).
    """
    experiment = post(url, "experiment", {"experimentName": ""})
    order = [h["name"] for h in experiment.get("hparamInfos", [])]
    rows = []
    for group in session_groups(url, experiment):
        row: dict[str, Any] = {"trial_id": group["name"]}
        row.update({k: _value(v) for k, v in group.get("hparams", {}).items()})
        for metric in group.get("metricValues", []):
            row[metric["name"]["tag"]] = _value(metric.get("value"))
        rows.append(row)
    return order, rows


#: Reads the HParams table as shown: header texts and each row's cell texts,
#: through the shadow roots of TensorBoard's Polymer dashboard and vaadin-grid;
#: ``cut`` tells whether a cell's text is cut off (ellipsis), ``visible`` what
#: of it fits the column (measured with the cell's font, as the ellipsis cuts).
_READ_TABLE = """() => {
  const all = (root, selector, found = []) => {
    root.querySelectorAll(selector).forEach((e) => found.push(e));
    root.querySelectorAll('*').forEach((e) => e.shadowRoot && all(e.shadowRoot, selector, found));
    return found;
  };
  const grid = all(document, 'vaadin-grid#sessionGroupsTable')[0];
  if (!grid) return null;
  const cells = (tr) => [...tr.querySelectorAll('th, td')].map((td) => {
    const slot = td.querySelector('slot');
    const nodes = slot ? slot.assignedElements({flatten: true}) : [];
    const div = nodes.length ? nodes[0].querySelector('.table-cell') : null;
    const text = nodes.map((n) => n.innerText).join(' ').trim();
    const cut = div ? div.scrollWidth > div.clientWidth + 1 : false;
    let visible = text;
    if (cut) {
      const ruler = document.createElement('canvas').getContext('2d');
      ruler.font = getComputedStyle(div).font;
      while (visible && ruler.measureText(visible + '…').width > div.clientWidth) {
        visible = visible.slice(0, -1);
      }
    }
    return {text, cut, visible};
  });
  const rows = [...grid.shadowRoot.querySelectorAll('tbody tr')].filter(
    (tr) => !tr.hidden && tr.style.display !== 'none');
  const header = grid.shadowRoot.querySelector('thead tr');
  return {header: cells(header).map((c) => c.text), rows: rows.map(cells)};
}"""


def find_chromium(given: str | None = None) -> str | None:
    """A Chromium to drive: ``given``, else ``chromium`` or ``chromium-browser`` on PATH."""
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_available(chromium: str | None = None) -> str | None:
    """Why the browser check cannot run (``None``: it can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if find_chromium(chromium) is None:
        return "no chromium found (apt-get install chromium, or --chromium PATH)"
    return None


def browser_table(
    url: str, runs: int, chromium: str | None = None, screenshot: Path | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """``(column headers, rows)`` of the HParams tab as a headless Chromium shows it.

    A row maps each header to its cell's text, plus ``"cut:<header>"`` (whether
    the text is cut off) and ``"visible:<header>"`` (what of it is shown).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=find_chromium(chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1000})
            page.goto(f"{url}/#hparams", timeout=60_000)
            table = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                table = page.evaluate(_READ_TABLE)
                if table and sum(1 for r in table["rows"] if r and r[0]["text"]) >= runs:
                    break
                time.sleep(0.5)
            if screenshot is not None:
                page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    if not table:
        raise RuntimeError("the HParams table did not appear")
    header = table["header"]
    rows = []
    for cells in table["rows"]:
        if not cells or not cells[0]["text"]:
            continue
        row: dict[str, Any] = {}
        for name, cell in zip(header, cells, strict=False):
            row[name] = cell["text"]
            row[f"cut:{name}"] = cell["cut"]
            row[f"visible:{name}"] = cell["visible"]
        rows.append(row)
    return header, rows


def _matches(shown: Any, expected: Any) -> bool:
    """A cell (text or number) shows ``expected`` (TensorBoard prints numbers to 5 digits)."""
    try:
        return abs(float(shown) - float(expected)) <= 5e-4 * max(1.0, abs(float(expected)))
    except (TypeError, ValueError):
        return str(shown) == str(expected)


def _row_for(rows: list[dict[str, Any]], key: str, folder: str) -> dict[str, Any] | None:
    found = [r for r in rows if str(r.get(key, "")).endswith(folder)]
    return found[0] if len(found) == 1 else None


def check_api(order: list[str], rows: list[dict[str, Any]], expected: dict[str, dict]) -> list[str]:
    """What the HTTP API answer lacks (empty: nothing)."""
    problems = []
    if len(rows) != len(expected):
        problems.append(f"API: {len(rows)} rows for {len(expected)} runs")
    for folder, want in expected.items():
        row = _row_for(rows, "trial_id", folder)
        if row is None:
            problems.append(f"API: no single row for {folder}")
            continue
        for name, value in want.items():
            if not _matches(row.get(name), value):
                problems.append(f"API: {folder} {name} = {row.get(name)!r}, expected {value!r}")
    varying = [n for n in order if len({str(r[n]) for r in rows if n in r}) > 1]
    if order[: len(varying)] != varying:
        problems.append(f"API: settings that vary ({varying}) do not come first: {order}")
    return problems


def shown_as(name: str) -> str:
    """The column a setting or score is shown in by default (scores: ``hparams/...``)."""
    return "hparams/" + name.replace("/", "_") if "/" in name else name


def check_browser(header: list[str], rows: list[dict[str, Any]], expected: dict) -> list[str]:
    """What the table in the browser lacks, with the columns shown by default (empty: nothing)."""
    problems = []
    wanted = dict.fromkeys(shown_as(n) for want in expected.values() for n in want)
    for name in wanted:
        if name not in header:
            problems.append(f"browser: no {name} column shown (shown: {header})")
    if len(rows) != len(expected):
        problems.append(f"browser: {len(rows)} rows for {len(expected)} runs")
    visible = [r.get("visible:Trial ID", "") for r in rows]
    if len(set(visible)) != len(visible):
        problems.append(f"browser: trial ids look alike in their column: {visible}")
    for folder, want in expected.items():
        row = _row_for(rows, "Trial ID", folder)
        if row is None:
            problems.append(f"browser: no single row for {folder}")
            continue
        for name, value in want.items():
            column = shown_as(name)
            if column in header and not _matches(row.get(column), value):
                problems.append(
                    f"browser: {folder} {column} = {row.get(column)!r}, expected {value!r}"
                )
    return problems


def _print_table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")


def main(argv: list[str] | None = None) -> int:
    """Build (or take) a runs folder, check the HParams table; 0 when all is shown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", type=Path, help="folder to check (default: a new one)")
    parser.add_argument("--no-build", action="store_true", help="check --logdir as it is")
    parser.add_argument("--keep", type=Path, help="build the runs here and keep them")
    parser.add_argument("--chromium", help="path of the Chromium to drive")
    parser.add_argument("--screenshot", type=Path, help="PNG of the HParams tab")
    parser.add_argument("--no-browser", action="store_true", help="the HTTP API check only")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        logdir = args.keep or args.logdir or Path(tmp) / "runs"
        expected: dict[str, dict[str, Any]] = {}
        if not args.no_build:
            started = time.perf_counter()
            expected = build_runs(logdir)
            print(f"built {len(expected)} runs in {logdir} ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        runs = len(expected) or 1
        with tensorboard(logdir, runs) as url:
            print(f"tensorboard serves {logdir} at {url} ({time.perf_counter() - started:.1f} s)")
            order, rows = api_table(url)
            columns = ["trial_id", *SETTINGS, "dataset", AUC, ELBO]
            _print_table("HParams via the HTTP API (all columns; a few shown):", columns, rows)
            print(f"settings in TensorBoard's order: {', '.join(order)}")
            problems = check_api(order, rows, expected) if expected else []
            skip = "--no-browser" if args.no_browser else browser_available(args.chromium)
            if skip:
                print(f"\nbrowser check skipped: {skip}")
            else:
                header, shown = browser_table(url, runs, args.chromium, args.screenshot)
                title = "HParams tab in headless Chromium (the columns shown by default):"
                _print_table(title, ["visible:Trial ID", *header[2:]], shown)
                cut = sum(bool(r.get("cut:Trial ID")) for r in shown)
                print(f"trial ids cut by their column (visible part above): {cut} of {len(shown)}")
                problems += check_browser(header, shown, expected) if expected else []
    for problem in problems:
        print(f"FAIL: {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
