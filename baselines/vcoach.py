"""``gymdata train vcoach``: ALEX-GYM-1's pose network, in its "VCOACH-style" version.

Per frame, the 5,984 ALEX-GYM-1 features (528 pairwise distances + 5,456 cosines,
:func:`gymdata.features.alex_features`) are computed from the landmarks on the device, inside the
model. One stream per view treats them as channels of a ``(5984, T, 1)`` image: a Conv2d with
kernel (3, 1) and stride (2, 1) over time (5,984 -> 256 channels), two residual blocks of three
(3, 1) convolutions (256 -> 128 -> 64, each halving time again), a 1 x 1 convolution to 32
channels, and a GRU(32 -> 128) over the shrunken time axis whose last state is the view's
feature. The views' features are concatenated and projected to the 512-d branch feature
(what ``merged`` uses), and an MLP head (512 -> 128 -> criteria) predicts every criterion of the
sample's exercise (multi-label), with an exercise head when the data hold several exercises.

Input: the export's ``poses.npy`` landmarks (B, V, T, 33, 4); only x, y, z are used (MediaPipe's
image-normalised coordinates, as the original).
"""

from __future__ import annotations

import click
import torch
from torch import nn

from baselines.cli import run_train_command, train_options
from baselines.nets import FEATURE_DIM, CriteriaHead, LabelSpace, Net
from gymdata.errors import InputError

DEFAULTS = {"channels": [256, 128, 64], "final_channels": 32, "gru_hidden": 128, "head_hidden": 128, "dropout": 0.2}


class ResidualBlock(nn.Module):
    """Three (3, 1) convolutions over time (the first with ``stride``) + a 1 x 1 shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 2):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, (3, 1), stride=(stride, 1), padding=(1, 0)), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, (3, 1), padding=(1, 0)), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, (3, 1), padding=(1, 0)), nn.BatchNorm2d(cout), nn.ReLU())
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=(stride, 1)), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class PoseStream(nn.Module):
    """One view: per-frame features ``(B, T, F)`` -> ``(B, gru_hidden)``."""

    def __init__(self, in_dim: int, channels: list[int], final_channels: int, gru_hidden: int):
        super().__init__()
        self.initial = nn.Sequential(nn.Conv2d(in_dim, channels[0], (3, 1), stride=(2, 1), padding=(1, 0)),
                                     nn.BatchNorm2d(channels[0]), nn.ReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(a, b) for a, b in zip(channels, channels[1:])))
        self.final = nn.Sequential(nn.Conv2d(channels[-1], final_channels, 1), nn.BatchNorm2d(final_channels), nn.ReLU())
        self.gru = nn.GRU(final_channels, gru_hidden, batch_first=True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = feats.transpose(1, 2).unsqueeze(-1)  # (B, F, T, 1): features as channels, time as height
        x = self.final(self.blocks(self.initial(x)))
        x = x.squeeze(-1).transpose(1, 2)  # (B, T', C)
        with torch.autocast(x.device.type, enabled=False):  # the recurrence stays in float32
            _, h = self.gru(x.float())
        return h[-1]


class PoseNet(Net):
    """The pose branch: one :class:`PoseStream` per view, fused to 512-d, and a criteria head.

    Args:
        space: Label space.
        views: Number of views (streams).
        params: Architecture (see :data:`DEFAULTS`).
    """

    input_names = ("pose",)

    def __init__(self, space: LabelSpace, views: int, params: dict | None = None):
        from gymdata.features import ALEX_DIMS

        super().__init__()
        p = {**DEFAULTS, **(params or {})}
        self.streams = nn.ModuleList(PoseStream(ALEX_DIMS, list(p["channels"]), p["final_channels"], p["gru_hidden"])
                                     for _ in range(views))
        self.fuse = nn.Sequential(nn.Linear(views * p["gru_hidden"], FEATURE_DIM), nn.BatchNorm1d(FEATURE_DIM), nn.ReLU(),
                                  nn.Dropout(p["dropout"]))
        self.head = CriteriaHead(FEATURE_DIM, space, hidden=p["head_hidden"], dropout=p["dropout"])

    def features(self, pose: torch.Tensor) -> torch.Tensor:
        """``(B, V, T, 33, 4)`` landmarks -> the 512-d branch feature."""
        from gymdata.features import alex_features

        feats = alex_features(pose[..., :3].float())  # (B, V, T, 5984), on pose's device
        return self.fuse(torch.cat([s(feats[:, v]) for v, s in enumerate(self.streams)], dim=-1))

    def forward(self, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.head(self.features(pose))


def build(config: dict, space: LabelSpace) -> PoseNet:
    """The network of a run config."""
    return PoseNet(space, len(config["views"] or [None]), config["params"])


@click.command("vcoach")
@train_options(lr=5e-4)
@click.option("--gru-hidden", type=int, default=DEFAULTS["gru_hidden"], show_default=True, help="GRU state per view.")
@click.option("--channels", default=",".join(map(str, DEFAULTS["channels"])), show_default=True,
              help="Channels of the first convolution and of each residual block.")
@click.option("--dropout", type=float, default=DEFAULTS["dropout"], show_default=True)
def command(gru_hidden: int, channels: str, dropout: float, **opts) -> None:
    """Pose network (ALEX-GYM-1 features, Conv2d (3,1) + residual blocks + GRU per view).

    \b
    gymdata train vcoach --data EXPORT            (an arrays export with poses, split into parts)
    """
    try:
        widths = [int(c) for c in channels.split(",")]
    except ValueError:
        raise InputError(f"--channels {channels!r}: give comma-separated integers, e.g. 256,128,64") from None
    params = {**DEFAULTS, "gru_hidden": gru_hidden, "channels": widths, "dropout": dropout}
    run_train_command("vcoach", __name__, opts, params,
                      lambda config: (build(config, LabelSpace.from_meta(config["space"])), None),
                      video=False, pose=True)
