"""Every failure is one line, exits with a documented code and leaves nothing half-written.

Exit codes (see :mod:`graphae.cli`): 2 for an output path the user can fix
(a file where a folder should be, a missing folder, permission denied, a
read-only file system), 1 for a write the machine failed (disk full), 143
for SIGTERM and 130 for Ctrl-C.

The tests run as root on CI, where ``chmod`` stops nothing: unwritable
outputs are simulated with a file where a folder is expected, with
``/dev/full`` (every write fails with ``ENOSPC``; reached through a symbolic
link, so nothing is ever created in ``/dev``), and with an ``OSError``
injected where the operating system would raise it.
"""

from __future__ import annotations

import builtins
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graphae import cli
from graphae.artifacts import atomic
from graphae.artifacts.atomic import OutputError, atomic_path, atomic_write, exit_code
from graphae.artifacts.run_dir import create_run_dir, write_json
from graphae.cli import main
from graphae.pipeline import run_directory
from graphae.tracking.memory import MemoryTracker

REPO = Path(__file__).resolve().parents[1]
FRIENDS = REPO / "examples" / "friends.csv"
DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(
    not DEV_FULL.exists(), reason="no /dev/full (a device whose writes fail: disk full)"
)

TRAIN = ["train", "--edges", str(FRIENDS), "--epochs", "3", "--quiet", "--no-figures"]


def _one_line(capsys, argv, code):
    """Run ``graphae argv``: exit ``code`` and one ``graphae: error:`` line on stderr."""
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("graphae: error: "), err
    assert "Traceback" not in err
    return err


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files left anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def _full_disk_for(monkeypatch, name: str) -> None:
    """Writes of the file ``name`` go to ``/dev/full``: a real ENOSPC from the kernel.

    (Files written through :func:`atomic_write`, which opens the temporary file.)
    """
    real_open = builtins.open

    def open_(file, mode="r", *args, **kwargs):
        if Path(file).name.startswith(f".{Path(name).stem}.") and "w" in mode:
            return real_open(DEV_FULL, mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(atomic, "open", open_, raising=False)


def _failing_rename_of(monkeypatch, name: str, number: int) -> None:
    """Renaming the complete temporary file to ``name`` fails with ``number``."""
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name == name:
            raise OSError(number, os.strerror(number), str(src))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)


# ------------------------------------------------------------ the atomic writer


def test_atomic_write_replaces_only_when_complete(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(ValueError), atomic_write(path, "w") as f:
        f.write("half")
        raise ValueError("a bug halfway")
    assert path.read_text() == "old"
    with pytest.raises(KeyboardInterrupt), atomic_write(path, "w") as f:
        f.write("half")
        raise KeyboardInterrupt
    assert path.read_text() == "old"
    with atomic_write(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (errno.ENOSPC, 1),
        (errno.EIO, 1),
        (errno.EDQUOT, 1),
        (errno.EROFS, 2),
        (errno.EACCES, 2),
        (errno.ENOTDIR, 2),
        (errno.ENOENT, 2),
    ],
)
def test_os_errors_name_the_destination_with_their_exit_code(tmp_path, monkeypatch, number, code):
    path = tmp_path / "metrics.json"

    def replace(src, dst):
        raise OSError(number, os.strerror(number), str(src))

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError) as caught:
        write_json(path, {"a": 1})
    assert str(caught.value) == f"cannot write {path}: {os.strerror(number)}"
    assert caught.value.exit_code == code == exit_code(number)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_and_file_in_the_way(tmp_path):
    with pytest.raises(OutputError, match="No such file or directory") as caught:
        write_json(tmp_path / "nope" / "a.json", {})
    assert caught.value.exit_code == 2
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="Not a directory"):
        write_json(tmp_path / "file" / "a.json", {})
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputError, match="Is a directory"):
        write_json(tmp_path / "folder", {})
    with pytest.raises(OutputError, match=r"cannot write .*file: Not a directory") as caught:
        create_run_dir(tmp_path / "file", "run")
    assert caught.value.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]


def test_a_symbolic_link_is_written_through(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    (tmp_path / "link.json").symlink_to(target)
    write_json(tmp_path / "link.json", {"a": 1})
    assert (tmp_path / "link.json").is_symlink()
    assert target.read_text().startswith("{")


@needs_dev_full
def test_a_device_is_written_in_place(tmp_path):
    link = tmp_path / "full.png"
    link.symlink_to(DEV_FULL)
    full_disk = pytest.raises(OutputError, match="No space left on device")
    with full_disk as caught, atomic_path(link) as tmp:
        assert tmp == link  # no temporary file beside a device
        tmp.write_bytes(b"x")
    assert caught.value.exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.png"]


def test_failing_tracker_clean_up_still_removes_the_run(tmp_path):
    class Broken(MemoryTracker):
        def end_run(self, success=True):
            raise OSError(errno.EIO, "Input/output error")

    failed = pytest.raises(RuntimeError, match="training")
    with failed, run_directory(tmp_path, "run", True, [Broken()]):
        raise RuntimeError("training failed")
    assert list(tmp_path.iterdir()) == []
    unfinished = pytest.raises(OSError, match="Input/output")  # failing to finish fails the run
    with unfinished, run_directory(tmp_path, "run", True, [Broken()]):
        pass
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ graphae train


def test_runs_dir_that_is_a_file(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.write_text("")
    err = _one_line(capsys, [*TRAIN, "--runs-dir", str(runs)], 2)
    assert err == f"graphae: error: cannot write {runs}: Not a directory"
    err = _one_line(capsys, [*TRAIN, "--runs-dir", str(runs / "sub")], 2)
    assert err == f"graphae: error: cannot write {runs / 'sub'}: Not a directory"
    assert [p.name for p in tmp_path.iterdir()] == ["runs"] and runs.read_text() == ""


@pytest.mark.parametrize(
    ("number", "code"), [(errno.EROFS, 2), (errno.EACCES, 2), (errno.ENOSPC, 1)]
)
def test_run_folder_that_cannot_be_written(tmp_path, capsys, monkeypatch, number, code):
    def mkstemp(*args, **kwargs):
        raise OSError(number, os.strerror(number), str(kwargs.get("dir")))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    runs = tmp_path / "runs"
    err = _one_line(capsys, [*TRAIN, "--runs-dir", str(runs)], code)
    run = runs / "vgae_nofeat_friends_16d_3ep"
    assert err == f"graphae: error: cannot write {run / 'config.json'}: {os.strerror(number)}"
    assert list(runs.iterdir()) == []  # the run folder was removed


@needs_dev_full
@pytest.mark.parametrize("name", ["checkpoint.pt", "embeddings.npy", "metrics.json"])
def test_disk_full_while_writing_a_run_file(tmp_path, capsys, monkeypatch, name):
    _full_disk_for(monkeypatch, name)
    runs = tmp_path / "runs"
    err = _one_line(capsys, [*TRAIN, "--runs-dir", str(runs)], 1)
    run = runs / "vgae_nofeat_friends_16d_3ep"
    assert err == f"graphae: error: cannot write {run / name}: No space left on device"
    assert list(runs.iterdir()) == []
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["split.npz", "nodes.txt", "latent.png", "roc.png"])
def test_disk_full_while_finishing_a_run_file(tmp_path, capsys, monkeypatch, name):
    _failing_rename_of(monkeypatch, name, errno.ENOSPC)
    runs = tmp_path / "runs"
    argv = [a for a in TRAIN if a != "--no-figures"]
    err = _one_line(capsys, [*argv, "--runs-dir", str(runs)], 1)
    run = runs / "vgae_nofeat_friends_16d_3ep"
    assert err == f"graphae: error: cannot write {run / name}: No space left on device"
    assert list(runs.iterdir()) == []


def test_disk_full_while_appending_the_history(tmp_path, capsys, monkeypatch):
    from graphae.tracking import jsonl

    class FullFile:
        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a file object does

        def close(self):
            pass

    monkeypatch.setattr(jsonl, "open", lambda *a, **k: FullFile(), raising=False)
    runs = tmp_path / "runs"
    err = _one_line(capsys, [*TRAIN, "--runs-dir", str(runs)], 1)
    assert err.endswith("history.jsonl: No space left on device")
    assert list(runs.iterdir()) == []


def test_validation_fraction_too_small_is_one_line(tmp_path, capsys):
    err = _one_line(capsys, [*TRAIN, "--val-fraction", "0.0001", "--runs-dir", str(tmp_path)], 2)
    assert "too few" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ other commands


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("finished")
    assert main([*TRAIN, "--runs-dir", str(runs)]) == 0
    return runs


def test_compare_plot_into_a_missing_folder(finished_runs, tmp_path, capsys):
    plot = tmp_path / "missing" / "compare.png"
    assert main(["compare", str(finished_runs), "--plot", str(plot)]) == 2
    captured = capsys.readouterr()
    assert "vgae_nofeat_friends_16d_3ep" in captured.out  # the table came first
    err = captured.err.strip()
    assert err == f"graphae: error: cannot write {plot}: No such file or directory"
    assert list(tmp_path.iterdir()) == []


@needs_dev_full
def test_compare_plot_on_a_full_disk(finished_runs, tmp_path, capsys):
    link = tmp_path / "full.png"
    link.symlink_to(DEV_FULL)
    assert main(["compare", str(finished_runs), "--plot", str(link)]) == 1
    assert (
        capsys.readouterr().err == f"graphae: error: cannot write {link}: No space left on device\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.png"]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("vae")
    argv = ["vae", "--dataset", "digits", "--epochs", "1", "--hidden", "16", "--quiet"]
    assert main([*argv, "--runs-dir", str(runs)]) == 0
    return runs / "vae_digits_2d_1ep"


def test_vae_sample_out_unwritable(vae_run, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "grid.png"
    err = _one_line(capsys, ["vae", "sample", str(vae_run), "--out", str(out)], 2)
    assert err == f"graphae: error: cannot write {out.parent}: Not a directory"
    (tmp_path / "folder.png").mkdir()
    err = _one_line(
        capsys, ["vae", "sample", str(vae_run), "--out", str(tmp_path / "folder.png")], 2
    )
    assert err.endswith("folder.png: Is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.png"]


@needs_dev_full
def test_vae_sample_on_a_full_disk(vae_run, tmp_path, capsys):
    link = tmp_path / "full.png"
    link.symlink_to(DEV_FULL)
    err = _one_line(capsys, ["vae", "sample", str(vae_run), "--out", str(link)], 1)
    assert err == f"graphae: error: cannot write {link}: No space left on device"


@needs_dev_full
def test_vae_run_on_a_full_disk_is_removed(tmp_path, capsys, monkeypatch):
    _full_disk_for(monkeypatch, "checkpoint.pt")
    argv = ["vae", "--dataset", "digits", "--epochs", "1", "--hidden", "16", "--quiet"]
    err = _one_line(capsys, [*argv, "--runs-dir", str(tmp_path)], 1)
    assert err.endswith("checkpoint.pt: No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "out/table.md"), 1, "cannot write "),
        (OSError(errno.EROFS, "Read-only file system", "out/table.md"), 2, "cannot write "),
        (OSError(errno.EACCES, "Permission denied", "out"), 2, ""),
    ],
)
def test_any_file_system_error_is_one_line(monkeypatch, capsys, error, code, line):
    """A writer that raises a bare OSError (reproduction tables, say) still gives one line."""

    def handler(args):
        raise error

    monkeypatch.setattr(cli, "_compare", handler)
    err = _one_line(capsys, ["compare", "anything"], code)
    assert err == f"graphae: error: {line}{error.filename}: {error.strerror}"


def test_other_os_errors_keep_their_traceback(monkeypatch):
    def handler(args):
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

    monkeypatch.setattr(cli, "_compare", handler)
    with pytest.raises(ConnectionResetError):
        main(["compare", "anything"])


def test_sigterm_handler_is_restored(monkeypatch):
    before = signal.getsignal(signal.SIGTERM)
    seen = []
    monkeypatch.setattr(cli, "_compare", lambda args: seen.append(signal.getsignal(signal.SIGTERM)))
    assert main(["compare", "anything"]) == 0
    assert seen[0] not in (before, signal.SIG_DFL)
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals: main thread only"
)
def test_sigterm_in_process_is_exit_143(monkeypatch, capsys, tmp_path):
    def handler(args):
        with run_directory(tmp_path, "run", True, []):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted at once
            raise AssertionError("not stopped")

    monkeypatch.setattr(cli, "_compare", handler)
    assert main(["compare", "anything"]) == 143
    assert capsys.readouterr().err == (
        "graphae: stopped by SIGTERM; the unfinished run directory was removed\n"
    )
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ signals, for real


def _stop_when_running(tmp_path: Path, argv: list[str], sig: int) -> tuple[int, str]:
    """Start ``python -m graphae argv``, wait for its run folder, send ``sig``."""
    runs = tmp_path / "runs"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "graphae", *argv, "--runs-dir", str(runs), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not list(runs.glob("*/config.json")):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no run folder after 180 s"
            time.sleep(0.1)
        time.sleep(0.5)  # into the training loop
        process.send_signal(sig)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [
        (
            signal.SIGTERM,
            143,
            "graphae: stopped by SIGTERM; the unfinished run directory was removed",
        ),
        (signal.SIGINT, 130, "graphae: interrupted; the unfinished run directory was removed"),
    ],
)
def test_signal_stops_training_and_removes_the_run(tmp_path, sig, code, line):
    if sig == signal.SIGINT and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here, and so in the child")
    argv = ["train", "--edges", str(FRIENDS), "--epochs", "1000000", "--no-figures"]
    argv += ["--checkpoint-every", "0"]  # no resume checkpoint: removed (kept: test_resume_cli)
    returncode, err = _stop_when_running(tmp_path, argv, sig)
    assert returncode == code, err
    assert err.splitlines() == [line]
    assert list((tmp_path / "runs").iterdir()) == []
    assert _leftovers(tmp_path) == []


def test_sigterm_stops_vae_training_and_removes_the_run(tmp_path):
    argv = ["vae", "--dataset", "digits", "--epochs", "1000000", "--hidden", "16"]
    returncode, err = _stop_when_running(tmp_path, argv, signal.SIGTERM)
    assert returncode == 143, err
    assert err.splitlines() == [
        "graphae: stopped by SIGTERM; the unfinished run directory was removed"
    ]
    assert list((tmp_path / "runs").iterdir()) == []
    assert _leftovers(tmp_path) == []
