"""``gymdata train resnet3d``: ALEX-GYM-1's vision network.

One torchvision ``r3d_18`` stream per view (fc replaced by the identity: 512-d per view) over
T x H x W clips (ALEX-GYM-1: 16 x 224 x 224; the export's frames and size are used), the views'
features concatenated and an MLP (V x 512 -> 1024 -> 512, the branch feature ``merged`` uses) and
a linear head predicting every criterion of the sample's exercise (multi-label), with an
exercise head when the data hold several exercises.

Weights: from scratch by default (offline, nothing is downloaded). ``--weights PATH`` loads a
local copy of torchvision's Kinetics-400 ``r3d_18`` state dict
(``R3D_18_Weights.KINETICS400_V1``, file ``r3d_18-b3b3357e.pth``) into every stream and then, as
the original does, freezes everything but ``layer3`` and ``layer4`` (``--no-freeze`` trains all).

Input: the export's uint8 ``video.npy`` clips (B, V, T, H, W, 3), normalised with the Kinetics
mean and std on the device. ``--clip-frames`` / ``--clip-size`` reduce them there (frames picked
uniformly, area-averaged pixels): one export at full resolution serves a CPU run at reduced
resolution too.
"""

from __future__ import annotations

from pathlib import Path

import click
import torch
from torch import nn

from baselines.cli import run_train_command, train_options
from baselines.nets import FEATURE_DIM, CriteriaHead, LabelSpace, Net
from gymdata.errors import InputError

DEFAULTS = {"hidden": 1024, "dropout": 0.3, "weights": None, "freeze": None, "frames": None, "size": None}
#: Parameters left trainable when pretrained weights are frozen (the original's choice).
TRAINABLE = ("layer3", "layer4")


def r3d_stream(weights: str | None = None, freeze: bool | None = None) -> nn.Module:
    """An ``r3d_18`` with ``fc`` = identity (512-d output), optionally with local Kinetics weights.

    Args:
        weights: Path of a torchvision ``r3d_18`` state dict, or None (random initialisation).
        freeze: Freeze all but layer3/layer4 (default: when ``weights`` are given).

    Raises:
        InputError: If the weights file is missing or is not an ``r3d_18`` state dict.
    """
    from torchvision.models.video import r3d_18

    net = r3d_18(weights=None)
    net.fc = nn.Identity()
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise InputError("weights file not found", path=path,
                             hint="a local copy of torchvision's r3d_18 Kinetics-400 weights (r3d_18-b3b3357e.pth)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise InputError(f"not an r3d_18 state dict ({len(missing)} missing, {len(unexpected)} unexpected keys, "
                             f"e.g. {(missing or unexpected)[0]})", path=path)
    if freeze if freeze is not None else bool(weights):
        for name, param in net.named_parameters():
            param.requires_grad = name.startswith(TRAINABLE)
    return net


class VisionNet(Net):
    """The vision branch: one ``r3d_18`` per view, fused to 512-d, and a criteria head.

    Args:
        space: Label space.
        views: Number of views (streams).
        params: ``hidden``, ``dropout``, ``weights``, ``freeze`` (see :data:`DEFAULTS`).
        load_weights: Load ``params["weights"]`` (False when a checkpoint will overwrite them).
    """

    input_names = ("video",)

    def __init__(self, space: LabelSpace, views: int, params: dict | None = None, *, load_weights: bool = True):
        super().__init__()
        p = {**DEFAULTS, **(params or {})}
        weights = p["weights"] if load_weights else None
        freeze = p["freeze"] if p["freeze"] is not None else bool(p["weights"])
        self.frames, self.size = p["frames"], p["size"]
        self.streams = nn.ModuleList(r3d_stream(weights, freeze) for _ in range(views))
        self.fuse = nn.Sequential(nn.Linear(views * 512, p["hidden"]), nn.BatchNorm1d(p["hidden"]), nn.ReLU(),
                                  nn.Dropout(p["dropout"]), nn.Linear(p["hidden"], FEATURE_DIM), nn.ReLU())
        self.head = CriteriaHead(FEATURE_DIM, space)

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, V, T, H, W, 3)`` -> the 512-d branch feature."""
        x = self._reduce(_normalise(video))
        return self.fuse(torch.cat([s(x[:, v]) for v, s in enumerate(self.streams)], dim=-1))

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.head(self.features(video))

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Fewer frames / pixels when the run asked for a reduced resolution."""
        t, h, w = x.shape[-3:]
        if self.frames and self.frames != t:
            # indices as Python ints: constants in an exported graph (a traced linspace is not exact)
            x = x[:, :, :, torch.linspace(0, int(t) - 1, self.frames).round().long().tolist()]
        if self.size and (self.size, self.size) != (h, w):
            # adaptive average pooling written as two matrix products: the same numbers, and it
            # exports to ONNX for any size (adaptive_avg_pool3d only when the sizes divide)
            x = pool_matrix(h, self.size, x) @ x @ pool_matrix(w, self.size, x).T
        return x


def pool_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """``(n_out, n_in)`` averaging matrix of adaptive average pooling (PyTorch's bins:
    ``[floor(i n_in / n_out), ceil((i + 1) n_in / n_out))``), dtype and device of ``like``."""
    n_in, n_out = int(n_in), int(n_out)  # sizes as Python ints: the matrix is a constant in an exported graph
    m = torch.zeros(n_out, n_in, dtype=like.dtype, device=like.device)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _normalise(video: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, V, T, H, W, 3)`` -> Kinetics-normalised float ``(B, V, 3, T, H, W)``.

    What :func:`gymdata.arrays.to_model_input` does, with the channel move spelled with
    positive axes: its ``movedim(-1, -4)`` becomes an ONNX Transpose with a negative axis, which
    onnxruntime rejects.
    """
    from gymdata.arrays import KINETICS_MEAN, KINETICS_STD

    x = video.float() / 255.0
    x = (x - x.new_tensor(KINETICS_MEAN)) / x.new_tensor(KINETICS_STD)
    return x.permute(0, 1, 5, 2, 3, 4)


def build(config: dict, space: LabelSpace, *, load_weights: bool = False) -> VisionNet:
    """The network of a run config (pretrained weights are not loaded: a checkpoint follows)."""
    return VisionNet(space, len(config["views"] or [None]), config["params"], load_weights=load_weights)


@click.command("resnet3d")
@train_options(lr=5e-4)
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path),
              help="Local Kinetics-400 r3d_18 weights (default: train from scratch).")
@click.option("--freeze/--no-freeze", default=None,
              help="Freeze all but layer3/layer4 (default: yes with --weights, no without).")
@click.option("--dropout", type=float, default=DEFAULTS["dropout"], show_default=True)
@click.option("--clip-frames", type=int, help="Use this many of the export's frames (reduced resolution).")
@click.option("--clip-size", type=int, help="Resize frames to this many pixels square on the device.")
def command(weights: Path | None, freeze: bool | None, dropout: float, clip_frames: int | None,
            clip_size: int | None, **opts) -> None:
    """Vision network (one r3d_18 per view + MLP head).

    \b
    gymdata train resnet3d --data EXPORT [--weights r3d_18-b3b3357e.pth]
    """
    params = {**DEFAULTS, "dropout": dropout, "weights": str(Path(weights).absolute()) if weights else None,
              "freeze": freeze, "frames": clip_frames, "size": clip_size}
    run_train_command("resnet3d", __name__, opts, params,
                      lambda config: (build(config, LabelSpace.from_meta(config["space"]),
                                            load_weights=not config.get("resumed")), None),
                      video=True, pose=False)
