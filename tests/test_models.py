"""Every registered model passes the model contract (:mod:`tests.model_base`) on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymdata import registry
from tests.baselines_support import write_export
from tests.conftest import run_cli
from tests.model_base import ModelContract


class _Network(ModelContract):
    family = "network"

    def make_data(self, tmp_path: Path) -> str:
        return str(write_export(tmp_path / "arrays", units=12))

    def train(self, data: str, run_id: str):
        return run_cli("train", self.model, "--data", data, "--run-id", run_id, "--epochs", "1", "--batch-size", "4",
                       "--device", "cpu", *self.train_args)


@pytest.fixture
def small_backbone(monkeypatch):
    """A tiny stand-in for r3d_18 (66M parameters) and small pose streams, as in test_baselines."""
    from baselines import resnet3d, vcoach
    from tests.baselines_support import TinyStream

    monkeypatch.setattr(resnet3d, "r3d_stream", lambda weights=None, freeze=None: TinyStream())
    monkeypatch.setitem(vcoach.DEFAULTS, "channels", [32, 16, 8])
    monkeypatch.setitem(vcoach.DEFAULTS, "gru_hidden", 16)


class TestVcoach(_Network):
    model = "vcoach"
    train_args = ("--gru-hidden", "16", "--channels", "32,16,8")


@pytest.mark.usefixtures("small_backbone")
class TestResnet3d(_Network):
    model = "resnet3d"


@pytest.mark.usefixtures("small_backbone")
class TestMerged(_Network):
    model = "merged"


class TestBilstm(_Network):
    model = "bilstm"
    train_args = ("--hidden", "16", "--views", "any")


class _Counter(ModelContract):
    family = "counter"

    def make_data(self, tmp_path: Path) -> str:
        from tests.fakes.pose_counting import write_pose_counting

        write_pose_counting(tmp_path / "corpus")
        code, _, err = run_cli("import", "pose-counting", str(tmp_path / "corpus"), "--name", "counts", "--quiet")
        assert code == 0, err
        return "counts"


class TestGmm(_Counter):
    model = "gmm"
    train_args = ("--clips", "0")


class TestPoserac(_Counter):
    model = "poserac"
    train_args = ("--epochs", "3")


def test_every_registered_model_has_a_contract_test():
    tested = {cls.model for cls in (TestVcoach, TestResnet3d, TestMerged, TestBilstm, TestGmm, TestPoserac)}
    assert tested == set(registry.available("gymdata.models"))
