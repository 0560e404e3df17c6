"""``gymdata train merged``: ALEX-GYM-1's merged model.

The trained vision branch (``resnet3d`` run) and pose branch (``vcoach`` run) each give their
512-d feature; the two are concatenated (1,024-d) and an MLP (1024 -> 256 -> criteria, dropout
0.3) predicts the criteria; the whole is fine-tuned, the branches at ``--branch-lr`` times the
head's learning rate (they are trained already). Without ``--vision``/``--pose`` runs the
branches start from scratch (their defaults), which trains the same architecture end to end.
"""

from __future__ import annotations

import logging

import click
import torch

from baselines import resnet3d, vcoach
from baselines.cli import run_train_command, train_options
from baselines.evaluation import load_run
from baselines.nets import FEATURE_DIM, CriteriaHead, LabelSpace, Net
from baselines.runs import read_run_config, run_path
from baselines.training import parse_views
from gymdata.errors import InputError

log = logging.getLogger("gymdata")
DEFAULTS = {"hidden": 256, "dropout": 0.3, "branch_lr": 0.1}


class MergedNet(Net):
    """Vision and pose branches, their features concatenated, and a criteria head."""

    input_names = ("video", "pose")

    def __init__(self, space: LabelSpace, views: int, params: dict):
        super().__init__()
        p = {**DEFAULTS, **params}
        self.vision = resnet3d.VisionNet(space, views, p["vision"]["params"], load_weights=False)
        self.pose = vcoach.PoseNet(space, views, p["pose"]["params"])
        self.head = CriteriaHead(2 * FEATURE_DIM, space, hidden=p["hidden"], dropout=p["dropout"])

    def features(self, video: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.vision.features(video), self.pose.features(pose)], dim=-1)

    def forward(self, video: torch.Tensor, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.head(self.features(video, pose))


def build(config: dict, space: LabelSpace) -> MergedNet:
    """The network of a run config."""
    return MergedNet(space, len(config["views"] or [None]), config["params"])


def _branch(run: str | None, model: str, views: list[str] | None) -> dict:
    """A branch's stored description: its run id, architecture params and views."""
    if run is None:
        defaults = resnet3d.DEFAULTS if model == "resnet3d" else vcoach.DEFAULTS
        return {"run": None, "params": dict(defaults), "views": views}
    config = read_run_config(run_path(run))
    if config["model"] != model:
        raise InputError(f"run {run!r} is a {config['model']} run, not {model}")
    if config["views"] != views:
        raise InputError(f"run {run!r} was trained on views {config['views']}, not {views}", hint="pass --views to match")
    return {"run": config["run_id"], "params": config["params"], "views": views, "space": config["space"]}


def _for_training(config: dict) -> tuple[MergedNet, list[dict]]:
    space = LabelSpace.from_meta(config["space"])
    model = build(config, space)
    p = config["params"]
    if not config.get("resumed"):
        for name, part in (("vision", model.vision), ("pose", model.pose)):
            branch = p[name]
            if branch["run"] is None:
                log.info("no %s run given: the %s branch starts from scratch", name, name)
                continue
            other = LabelSpace.from_meta(branch["space"])
            if (other.exercises, other.criteria) != (space.exercises, space.criteria):
                raise InputError(f"the {name} run {branch['run']} was trained on other exercises or criteria")
            trained, _ = load_run(branch["run"])
            part.load_state_dict(trained.state_dict())
    lr = config["train"]["lr"]
    branches = [q for q in list(model.vision.parameters()) + list(model.pose.parameters()) if q.requires_grad]
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    if p["branch_lr"] > 0:
        groups.append({"params": branches, "lr": lr * p["branch_lr"]})
    else:  # frozen branches: no gradient flows into them, which also spares their backward pass
        for q in branches:
            q.requires_grad = False
    return model, groups


@click.command("merged")
@train_options(lr=5e-4)
@click.option("--vision", "vision_run", metavar="RUN", help="Trained resnet3d run (its best checkpoint).")
@click.option("--pose", "pose_run", metavar="RUN", help="Trained vcoach run (its best checkpoint).")
@click.option("--branch-lr", type=float, default=DEFAULTS["branch_lr"], show_default=True,
              help="Branches' learning rate, as a fraction of --lr (0: branches frozen, only the head trains).")
def command(vision_run: str | None, pose_run: str | None, branch_lr: float, **opts) -> None:
    """Merged model: vision + pose branch features concatenated, an MLP, fine-tuned.

    \b
    gymdata train merged --data EXPORT --vision RESNET3D_RUN --pose VCOACH_RUN
    """
    params = {**DEFAULTS, "branch_lr": branch_lr}
    if not opts.get("resume"):
        views = parse_views(opts["views"])
        params.update(vision=_branch(vision_run, "resnet3d", views), pose=_branch(pose_run, "vcoach", views))
    run_train_command("merged", __name__, opts, params, _for_training, video=True, pose=True)
