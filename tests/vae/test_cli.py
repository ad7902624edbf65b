import contextlib
import json
import shutil

import numpy as np
import pytest

from graphae.cli import main
from graphae.vae import data as vae_data
from graphae.vae.idx import write_idx


def _one_line_exit_2(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("graphae: error:"), err
    assert "Traceback" not in err
    return err


def _broken_root(fashion_root, tmp_path, name, content):
    root = tmp_path / "data"
    shutil.copytree(fashion_root, root)
    (root / "FashionMNIST" / "raw" / name).write_bytes(content)
    return root


def test_train_on_digits_then_sample(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    argv = ["vae", "--dataset", "digits", "--epochs", "2", "--hidden", "64", "32"]
    assert main([*argv, "--runs-dir", str(runs), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "VAE on digits (64-64-32-2, adagrad lr 0.01, batch 100, 2 epochs" in out
    assert "test −ELBO" in out and "vae_digits_2d_2ep" in out
    run = runs / "vae_digits_2d_2ep"
    assert (run / "metrics.json").is_file()

    assert main(["vae", "sample", str(run), "--n", "16", "--seed", "3"]) == 0
    assert (run / "samples_n16_seed3.png").is_file()
    assert str(run / "samples_n16_seed3.png") in capsys.readouterr().out
    out_png = tmp_path / "elsewhere" / "grid.png"
    assert main(["vae", "sample", str(run / "checkpoint.pt"), "--out", str(out_png)]) == 0
    assert out_png.is_file()
    # --threads after `sample` (or before it) sets torch's threads for the command only
    seen: list[int] = []
    with monkeypatch.context() as patch:
        patch.setattr("graphae.vae.cli.run_sample", lambda args: seen.append(args.threads))
        patch.setattr(
            "graphae.cli._torch_threads", lambda n: (seen.append(n), contextlib.nullcontext())[1]
        )
        assert main(["vae", "sample", str(run), "--threads", "1"]) == 0
        assert main(["vae", "--threads", "2", "sample", str(run)]) == 0
    assert seen == [1, 1, 2, 2]


def test_several_latent_sizes_print_a_table(tmp_path, capsys):
    argv = ["vae", "--epochs", "1", "--hidden", "32", "--latent-dim", "2", "3"]
    assert main([*argv, "--runs-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| latent | test −ELBO" in out and "vae_digits_2-3d_1ep" in out
    assert (tmp_path / "vae_digits_2-3d_1ep" / "table.md").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--latent-dim", "0"],
        ["--epochs", "0"],
        ["--lr", "-1"],
        ["--optimizer", "sgd"],
        ["--dataset", "cifar10"],
        ["--batch-size", "x"],
        ["--device", "tpu9"],
    ],
)
def test_bad_settings_are_one_line_exit_2(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(["vae", *args]))
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err
    assert not (tmp_path / "runs").exists()


def test_sample_needs_a_run(tmp_path, capsys):
    err = _one_line_exit_2(capsys, ["vae", "sample", str(tmp_path)])
    assert "no checkpoint.pt" in err


def test_corrupt_idx_magic_via_cli(fashion_root, tmp_path, capsys):
    labels = np.zeros(10, dtype=np.uint8)
    write_idx(tmp_path / "labels", labels)
    root = _broken_root(
        fashion_root, tmp_path, "t10k-images-idx3-ubyte.gz", (tmp_path / "labels").read_bytes()
    )
    argv = ["vae", "--dataset", "fashion-mnist", "--data-root", str(root)]
    err = _one_line_exit_2(capsys, [*argv, "--runs-dir", str(tmp_path / "runs")])
    assert "t10k-images-idx3-ubyte.gz: wrong magic number 0x00000801" in err
    assert not (tmp_path / "runs").exists()


def test_truncated_idx_via_cli(fashion_root, tmp_path, capsys):
    source = fashion_root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    root = _broken_root(
        fashion_root, tmp_path, "t10k-labels-idx1-ubyte.gz", source.read_bytes()[:-100]
    )
    argv = ["vae", "--dataset", "fashion-mnist", "--data-root", str(root)]
    err = _one_line_exit_2(capsys, [*argv, "--runs-dir", str(tmp_path / "runs")])
    assert "t10k-labels-idx1-ubyte.gz: truncated" in err


def test_missing_files_offline_via_cli(tmp_path, capsys, monkeypatch):
    def offline(url, dst, md5):
        raise OSError("offline")

    monkeypatch.setattr(vae_data, "_fetch", offline)
    argv = ["vae", "--dataset", "mnist", "--data-root", str(tmp_path / "none")]
    err = _one_line_exit_2(capsys, [*argv, "--runs-dir", str(tmp_path / "runs")])
    assert "MNIST data not found" in err and "train-images-idx3-ubyte.gz" in err
    assert "--data-root" in err and not (tmp_path / "runs").exists()


def test_fashion_mnist_smoke(fashion_root, tmp_path, capsys):
    argv = ["vae", "--dataset", "fashion-mnist", "--data-root", str(fashion_root)]
    argv += ["--epochs", "2", "--test-size", "1000", "--runs-dir", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    run = tmp_path / "vae_fashion-mnist_2d_2ep"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["num_train"] == 2000 and metrics["num_test"] == 1000
    assert 250 < metrics["test"]["neg_elbo"] < 400  # a 2-d VAE after 4,000 images
    assert (run / "manifold.png").is_file() and (run / "codes.png").is_file()
    assert "784-500-250-2" in capsys.readouterr().out


def test_help_lists_sample(capsys):
    with pytest.raises(SystemExit):
        main(["vae", "--help"])
    out = capsys.readouterr().out
    assert "sample" in out and "--latent-dim" in out and "--kl-warmup" in out
    with pytest.raises(SystemExit):
        main(["vae", "sample", "--help"])
    assert "--n" in capsys.readouterr().out
