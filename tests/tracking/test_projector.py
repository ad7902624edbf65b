"""What TensorBoard's Projector gets from a run: embeddings of any width, named classes."""

import numpy as np
import pytest
import torch
from google.protobuf import text_format
from tensorboard.plugins.projector import projector_config_pb2

from graphae import train
from graphae.data.planetoid import CLASS_NAMES, load_planetoid

#: Class sizes of the original data sets (LINQS), by subject.
SIZES = {
    "Cora": {
        "Case_Based": 298,
        "Genetic_Algorithms": 418,
        "Neural_Networks": 818,
        "Probabilistic_Methods": 426,
        "Reinforcement_Learning": 217,
        "Rule_Learning": 180,
        "Theory": 351,
    },
    # + the 15 unlabelled test nodes PyG's reader puts in class 0
    "CiteSeer": {"Agents": 596, "AI": 249 + 15, "DB": 701, "IR": 668, "ML": 590, "HCI": 508},
}


def _projector(run_dir):
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), config)
    (embedding,) = config.embeddings
    return embedding


@pytest.mark.parametrize("name", ["Cora", "CiteSeer"])
def test_planetoid_classes_are_named_in_pyg_label_order(name, data_root):
    data = load_planetoid(name, data_root)
    counts = torch.bincount(data.y).tolist()
    assert data.class_names == list(CLASS_NAMES[name])
    assert dict(zip(data.class_names, counts, strict=True)) == SIZES[name]


def test_pubmed_has_three_named_classes():
    assert CLASS_NAMES["PubMed"] == (
        "Diabetes Mellitus Experimental",
        "Diabetes Mellitus Type 2",
        "Diabetes Mellitus Type 1",
    )


def test_a_2d_run_is_shown_padded_with_named_classes(data_root, tmp_path):
    result = train(
        model="gae",
        dataset="Cora",
        latent_dim=2,
        epochs=2,
        data_root=str(data_root),
        runs_dir=str(tmp_path),
        quiet=True,
        figures=False,
    )
    embedding = _projector(result.run_dir)
    assert "2-d, padded with a constant 3rd axis" in embedding.tensor_name
    vectors = np.loadtxt(result.run_dir / embedding.tensor_path, delimiter="\t")
    np.testing.assert_allclose(vectors[:, :2], result.embeddings.numpy(), atol=1e-5)
    assert vectors.shape[1] == 3 and not vectors[:, 2].any()
    header, *rows = (result.run_dir / embedding.metadata_path).read_text().splitlines()
    assert header.split("\t") == ["class", "train_degree"]
    classes = {row.split("\t")[0] for row in rows}
    assert classes == set(CLASS_NAMES["Cora"])
