"""``gymdata train bilstm``: the exercise-scoring projects' regressor.

Input: T x 133 per clip, the scoring projects' normalised landmarks
(:func:`gymdata.features.normalize_landmarks`: centred on the hips, scaled by the torso, rotated
level, invalid frames interpolated, a validity flag per frame), computed on the device.
Network: BiLSTM(128 per direction, sequences) -> global average pooling over time -> dense 128
(ReLU) -> dropout 0.3 -> dense 64 (ReLU) -> dense 1, sigmoid; x 100 is the score. With several
exercises in the data a second head (dense E, softmax) on the 64-d layer recognises the exercise,
as the second scoring project does. Loss: MSE on the 0..1 score (+ cross-entropy of the exercise);
the projects' Adam 1e-4, batch 16.

The target is the export's score mapped from its scale to 0..1 (``meta.json`` ``score_scale``);
clips are single views (``--views any``: every clip alone, the default) or one named view.
"""

from __future__ import annotations

import click
import torch
from torch import nn

from baselines.cli import run_train_command, train_options
from baselines.nets import LabelSpace, Net
from gymdata.errors import InputError

DEFAULTS = {"hidden": 128, "dense": [128, 64], "dropout": 0.3}


class ScoreNet(Net):
    """BiLSTM regressor of a 0..1 score, with an exercise head when E > 1."""

    input_names = ("normalized",)

    def __init__(self, space: LabelSpace, params: dict | None = None):
        from gymdata.features import NORMALIZED_DIMS

        super().__init__()
        p = {**DEFAULTS, **(params or {})}
        self.lstm = nn.LSTM(NORMALIZED_DIMS, p["hidden"], batch_first=True, bidirectional=True)
        d1, d2 = p["dense"]
        self.dense = nn.Sequential(nn.Linear(2 * p["hidden"], d1), nn.ReLU(), nn.Dropout(p["dropout"]),
                                   nn.Linear(d1, d2), nn.ReLU())
        self.score = nn.Linear(d2, 1)
        self.exercise = nn.Linear(d2, len(space.exercises)) if len(space.exercises) > 1 else None

    def forward(self, normalized: torch.Tensor) -> dict[str, torch.Tensor]:
        x = normalized[:, 0]  # (B, T, 133): one view
        with torch.autocast(x.device.type, enabled=False):  # the recurrence stays in float32
            seq, _ = self.lstm(x.float())
        h = self.dense(seq.mean(dim=1))
        out = {"score": torch.sigmoid(self.score(h)).squeeze(-1)}
        if self.exercise is not None:
            out["exercise"] = self.exercise(h)
        return out


def build(config: dict, space: LabelSpace) -> ScoreNet:
    """The network of a run config."""
    return ScoreNet(space, config["params"])


def _for_training(config: dict) -> tuple[ScoreNet, None]:
    if config["views"] is not None and len(config["views"]) != 1:
        raise InputError(f"bilstm scores one view at a time, not {config['views']}", hint="--views any, or one view")
    if not config["space"].get("score_scale"):
        raise InputError("the export has no score to regress", path=config["data"],
                         hint="export a dataset with scores (e.g. the scorer CSV of the sample's videos)")
    return build(config, LabelSpace.from_meta(config["space"])), None


@click.command("bilstm")
@train_options(lr=1e-4, views="any")
@click.option("--hidden", type=int, default=DEFAULTS["hidden"], show_default=True, help="LSTM units per direction.")
def command(hidden: int, **opts) -> None:
    """Score regressor of the scoring projects (BiLSTM over T x 133 landmarks, score 0..100).

    \b
    gymdata train bilstm --data EXPORT
    """
    run_train_command("bilstm", __name__, opts, {**DEFAULTS, "hidden": hidden}, _for_training, video=False, pose=True)
