"""Checkpoints: round trip, atomic writes, and clear errors for every kind of bad file."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from course_utils import CheckpointError, load_checkpoint, save_checkpoint


class TinyNet(nn.Module):
    def __init__(self, hidden: int = 4) -> None:
        super().__init__()
        self.config = {"hidden": hidden}
        self.layer = nn.Linear(3, hidden)


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model = TinyNet()
    path = save_checkpoint(model, tmp_path / "sub" / "tiny.pt", dataset="fashion-mnist", epochs=3, acc=0.9)
    other = TinyNet()
    loaded, meta = load_checkpoint(path, model=other)
    assert loaded is other and not loaded.training
    assert torch.equal(loaded.layer.weight, model.layer.weight)
    assert meta["dataset"] == "fashion-mnist" and meta["epochs"] == 3 and meta["config"] == {"hidden": 4}
    assert meta["model_class"].endswith("TinyNet") and "saved_at" in meta
    assert [p.name for p in path.parent.iterdir()] == ["tiny.pt"]  # no temporary file left behind


def test_only_course_models_are_rebuilt_without_a_model(tmp_path):
    path = save_checkpoint(TinyNet(), tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="(?s)not a course model.*model=MyModel"):
        load_checkpoint(path)


def test_another_architecture_is_explained(tmp_path):
    path = save_checkpoint(TinyNet(hidden=4), tmp_path / "tiny.pt")
    with pytest.raises(
        CheckpointError, match=r"different shapes: layer.weight: checkpoint \(4, 3\) vs model \(8, 3\)"
    ):
        load_checkpoint(path, model=TinyNet(hidden=8))
    with pytest.raises(CheckpointError, match="missing in the checkpoint"):
        load_checkpoint(path, model=nn.Sequential(nn.Linear(3, 4)))


@pytest.mark.parametrize(
    "content",
    [b"", b"definitely not a checkpoint", b"PK\x03\x04 truncated zip"],
    ids=["empty", "text", "truncated-zip"],
)
def test_corrupt_files_are_explained(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="(?s)not a readable checkpoint.*Delete it"):
        load_checkpoint(path, model=TinyNet())


def test_truncated_checkpoint_is_explained(tmp_path):
    path = save_checkpoint(TinyNet(), tmp_path / "tiny.pt")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path, model=TinyNet())


def test_plain_torch_file_is_not_a_course_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(TinyNet().state_dict(), path)
    with pytest.raises(CheckpointError, match="not a course checkpoint"):
        load_checkpoint(path, model=TinyNet())


class Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_loading_never_runs_code(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "course-checkpoint/1", "payload": Exploit()}, f)
    with pytest.raises(CheckpointError):
        load_checkpoint(path, model=TinyNet())
    assert "this must never run" not in capsys.readouterr().out


def test_missing_file_and_bad_metadata(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(TypeError, match="plain data"):
        save_checkpoint(TinyNet(), tmp_path / "x.pt", history=object())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        save_checkpoint({"not": "a model"}, tmp_path / "x.pt")
