"""Baselines: metrics against hand-computed values; every model trains on a tiny export (the loss
goes down), resumes bit for bit, evaluates, and exports to ONNX that matches PyTorch."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines import metrics, resnet3d, vcoach
from baselines.nets import LabelSpace
from baselines.runs import runs_root
from baselines.training import read_metrics
from gymdata.arrays import ExportUnits
from tests.baselines_support import CRITERIA, EXERCISES, TinyStream, write_export
from tests.conftest import run_cli

# per model: extra options that keep it tiny and fast on one CPU core
MODELS = {
    "vcoach": ["--gru-hidden", "16", "--channels", "32,16,8", "--lr", "1e-3"],
    "resnet3d": ["--lr", "1e-3"],
    "bilstm": ["--hidden", "16", "--lr", "3e-3", "--views", "any"],
    "merged": ["--lr", "1e-3"],
}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("export") / "arrays")


@pytest.fixture
def small_backbone(monkeypatch):
    """TinyStream for r3d_18, and small pose streams as merged's from-scratch default."""
    monkeypatch.setattr(resnet3d, "r3d_stream", lambda weights=None, freeze=None: TinyStream())
    monkeypatch.setitem(vcoach.DEFAULTS, "channels", [32, 16, 8])
    monkeypatch.setitem(vcoach.DEFAULTS, "gru_hidden", 16)


def train(model: str, export: Path, run_id: str, *extra: str) -> Path:
    code, out, err = run_cli("train", model, "--data", str(export), "--run-id", run_id, "--batch-size", "4",
                             "--device", "cpu", *MODELS[model], *extra)
    assert code == 0, err
    return runs_root() / run_id


# -- metrics ---------------------------------------------------------------------------------

def test_hamming_loss_counts_known_verdicts_only():
    true = np.array([[1, 0, 1], [0, 0, 1]])
    pred = np.array([[1, 1, 1], [1, 0, 0]])
    assert metrics.hamming_loss(true, pred) == pytest.approx(3 / 6)
    mask = np.array([[True, False, True], [True, True, False]])
    assert metrics.hamming_loss(true, pred, mask) == pytest.approx(1 / 4)
    assert math.isnan(metrics.hamming_loss(true, pred, np.zeros_like(mask)))


def test_binary_counts_match_alex_definitions():
    c = metrics.binary_counts([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert (c["tp"], c["tn"], c["fp"], c["fn"]) == (2, 1, 1, 1)
    assert c["accuracy"] == pytest.approx(3 / 5)
    assert c["f1_met"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert c["f1_failed"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert c["f1"] == pytest.approx((c["f1_met"] + c["f1_failed"]) / 2)
    # a class that never occurs nor is predicted has no F1, and stays out of the mean
    c = metrics.binary_counts([1, 1, 1], [1, 1, 1])
    assert c["f1_met"] == 1.0 and math.isnan(c["f1_failed"]) and c["f1"] == 1.0


def test_score_metrics():
    pred, true = np.array([10.0, 50, 90, np.nan]), np.array([20.0, 50, 60, 5])
    assert metrics.mae(pred, true) == pytest.approx(40 / 3)
    assert metrics.rmse(pred, true) == pytest.approx(math.sqrt((100 + 0 + 900) / 3))
    assert metrics.relative_l2(pred, true) == pytest.approx(np.mean([0.01, 0, 0.09]))
    assert metrics.relative_l2(pred, true, (0, 10)) == pytest.approx(np.mean([1.0, 0, 9]))
    assert metrics.spearman_rho([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman_rho([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(metrics.spearman_rho([1, 1, 1], [1, 2, 3]))


def test_evaluate_has_a_row_per_exercise_and_criterion():
    p = metrics.Predictions(
        exercise=np.array([0, 0, 1]),
        criteria_prob=np.array([[0.9, 0.2, 0.6], [0.1, 0.8, 0.4], [0.7, 0.3, 0.5]]),
        criteria_true=np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]]),
        criteria_mask=np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0]], bool),
        exercise_prob=np.array([[0.8, 0.2], [0.4, 0.6], [0.1, 0.9]]))
    report = metrics.evaluate(p, EXERCISES, CRITERIA)
    assert report["per_exercise"]["lunge"]["hamming_loss"] == pytest.approx(1 / 6)
    assert report["per_exercise"]["squat"]["hamming_loss"] == pytest.approx(1 / 2)
    assert report["overall"]["hamming_loss"] == pytest.approx(2 / 8)
    assert report["overall"]["exercise_accuracy"] == pytest.approx(2 / 3)
    assert [(c["exercise"], c["criterion"]) for c in report["criteria"]] == \
        [("lunge", c) for c in CRITERIA["lunge"]] + [("squat", c) for c in CRITERIA["squat"]]
    assert "squat" in metrics.format_report(report)


# -- data --------------------------------------------------------------------------------------

def test_export_units_batches_match_the_export(export):
    data = ExportUnits(export, split="train", views=["frontal", "lateral"], video=True, pose=True)
    assert len(data) == 15
    batch = data.__getitems__([5, 0, 9])
    assert batch["video"].shape == (3, 2, 4, 16, 16, 3) and batch["video"].dtype == torch.uint8
    assert batch["pose"].shape == (3, 2, 4, 33, 4)
    video = np.load(export / "video.npy")
    assert np.array_equal(batch["video"][1, 1].numpy(), video[data.rows[0, 1]])
    squat = [i for i in range(len(data)) if data.exercise[i] == EXERCISES.index("squat")][0]
    assert data.__getitems__([squat])["criteria_mask"].tolist() == [[True, True, False]]  # 2 of 3 slots


def test_label_space_from_meta(export):
    space = LabelSpace.from_meta(json.loads((export / "meta.json").read_text()))
    assert space.exercises == tuple(EXERCISES) and space.width == 3 and space.score_scale == (0.0, 10.0)


# -- training ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", list(MODELS))
def test_model_trains_and_resumes_identically(model, export, small_backbone):
    straight = train(model, export, f"{model}-straight", "--epochs", "3")
    records = read_metrics(straight)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    for name in ("config.json", "metrics.jsonl", "best.pt", "last.pt", "curves.png", "eval-test.json"):
        assert (straight / name).is_file(), name

    part = train(model, export, f"{model}-part", "--epochs", "1")
    assert len(read_metrics(part)) == 1
    code, _, err = run_cli("train", model, "--resume", f"{model}-part", "--epochs", "3")
    assert code == 0, err
    assert [r["epoch"] for r in read_metrics(part)] == [1, 2, 3]
    a = torch.load(straight / "last.pt", weights_only=True)["model"]
    b = torch.load(part / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run's"
    assert [r["train_loss"] for r in read_metrics(part)] == [r["train_loss"] for r in records]


def test_real_r3d_18_backbone_trains_a_step(export):
    from baselines.training import TrainConfig, train_step

    data = ExportUnits(export, split="train", views=["frontal", "lateral"], video=True)
    net = resnet3d.VisionNet(LabelSpace.from_meta(data.meta), 2)
    assert sum(p.numel() for p in net.streams[0].parameters()) > 30e6  # torchvision's r3d_18
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    loss = train_step(net, data.__getitems__([0, 1]), opt, torch.device("cpu"), TrainConfig())
    assert math.isfinite(loss)


def test_reduced_resolution_happens_in_the_model(export, small_backbone):

    net = resnet3d.VisionNet(LabelSpace.from_meta(json.loads((export / "meta.json").read_text())), 2,
                             {"frames": 2, "size": 8})
    x = torch.rand(3, 2, 3, 4, 16, 16)
    assert net._reduce(x).shape == (3, 2, 3, 2, 8, 8)


def test_merged_starts_from_trained_branches(export, small_backbone):
    vision = train("resnet3d", export, "vision", "--epochs", "1")
    pose = train("vcoach", export, "pose", "--epochs", "1")
    merged = train("merged", export, "merged", "--epochs", "1", "--vision", "vision", "--pose", "pose")
    config = json.loads((merged / "config.json").read_text())
    assert config["params"]["vision"]["run"] == "vision" and config["params"]["pose"]["run"] == "pose"
    # merged started from the vision run's weights (not a fresh initialisation): after one epoch at a
    # tenth of the learning rate they are still close
    from baselines.evaluation import load_run

    v, _ = load_run("vision")
    m, _ = load_run("merged")
    diff = (m.vision.streams[0].conv[0].weight - v.streams[0].conv[0].weight).abs().max()
    assert diff < 0.01


def test_evaluate_prints_the_per_exercise_table(export):
    train("vcoach", export, "ev", "--epochs", "2")
    code, out, err = run_cli("evaluate", "ev", "--part", "val")
    assert code == 0, err
    assert "hamming_loss" in out and "lunge" in out and "squat" in out and "Straight" not in out
    report = json.loads((runs_root() / "ev" / "eval-val.json").read_text())
    assert set(report["per_exercise"]) == {"lunge", "squat"} and report["part"] == "val"


def test_bad_inputs_are_one_line_errors(tmp_path, export):
    code, _, err = run_cli("train", "vcoach", "--data", str(tmp_path / "nope"))
    assert code == 2 and err.startswith("error:") and "meta.json" in err
    code, _, err = run_cli("train", "vcoach")
    assert code == 2 and "--data" in err
    code, _, err = run_cli("evaluate", "no-such-run")
    assert code == 2 and "no run" in err
    code, _, err = run_cli("train", "bilstm", "--data", str(export), "--views", "frontal,lateral", "--epochs", "1")
    assert code == 2 and "one view" in err
    code, _, err = run_cli("train", "resnet3d", "--data", str(export), "--weights", str(tmp_path / "w.pth"))
    assert code == 2 and "weights file not found" in err


def test_resnet3d_loads_local_weights_and_freezes(tmp_path, export):
    from torchvision.models.video import r3d_18

    from baselines.resnet3d import r3d_stream

    reference = r3d_18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "r3d_18.pth")
    net = r3d_stream(str(tmp_path / "r3d_18.pth"))
    assert torch.equal(net.stem[0].weight, reference.stem[0].weight)
    trainable = {n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"layer3", "layer4"}
    assert all(p.requires_grad for p in r3d_stream(None).parameters())  # from scratch: all trained


@pytest.mark.parametrize("model, extra", [
    ("vcoach", []), ("resnet3d", []), ("bilstm", []), ("merged", []),
    # reduced resolution: frames picked (4 -> 3, a rounding tie) and pixels pooled (16 -> 6, not a divisor)
    ("resnet3d", ["--clip-frames", "3", "--clip-size", "6"]),
], ids=["vcoach", "resnet3d", "bilstm", "merged", "resnet3d-reduced"])
def test_onnx_export_matches_pytorch(model, extra, export, small_backbone):
    run_id = f"onnx-{model}{'-reduced' if extra else ''}"
    train(model, export, run_id, "--epochs", "1", *extra)
    code, out, err = run_cli("export-model", run_id, "--onnx")
    assert code == 0, err
    run = runs_root() / run_id
    side = json.loads((run / "model.json").read_text())
    assert side["checked"]["samples"] == 2  # a real sample of the export and a random one
    assert all(d < 1e-3 for d in side["checked"]["max_abs_diff"].values())
    import onnxruntime as ort

    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    expected = {"vcoach": ["pose"], "resnet3d": ["video"], "bilstm": ["normalized"], "merged": ["video", "pose"]}
    assert names == expected[model]
