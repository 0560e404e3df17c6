"""Trained networks back from their runs, and ``gymdata evaluate``'s metrics of a run on a part of
an export (written into the run folder as ``eval-<part>.json`` and ``.txt``).

A run's ``config.json`` names its model; the code that builds the network comes from the installed
``gymdata.models`` entry points, never from a module path written in the file, and the weights are
read with ``torch.load(weights_only=True)`` (:func:`baselines.runs.load_checkpoint`).
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

import torch

from baselines.metrics import THRESHOLD, evaluate, format_report
from baselines.nets import LabelSpace, Net
from baselines.runs import load_checkpoint, read_run_config, run_path
from baselines.training import fit, loop_config, open_part, pick_device, predict
from gymdata.errors import InputError

log = logging.getLogger("gymdata")


def model_module(name: str, *, where: Path | None = None):
    """The module of model ``name`` as registered in the ``gymdata.models`` entry points (it has
    ``build(config, space)``). A run's ``config.json`` names its model; the code that builds it
    comes from what is installed, never from a module path written in the file.

    Raises:
        InputError: If no installed model has that name, or it cannot build networks.
    """
    from gymdata import registry

    eps = registry.available("gymdata.models")
    if not isinstance(name, str) or name not in eps:
        raise InputError(f"config.json names model {name!r}, which is not an installed model", path=where,
                         hint=f"installed models: {', '.join(sorted(eps)) or 'none'}")
    module = importlib.import_module(eps[name].module)
    if not callable(getattr(module, "build", None)):
        raise InputError(f"model {name!r} cannot be rebuilt from a run (it has no build function)", path=where,
                         hint="evaluate it with the command that trained it")
    return module


def build_model(config: dict) -> Net:
    """The untrained network of a run config (the registered model's ``build(config, space)``)."""
    where = Path(config["run_dir"]) / "config.json" if config.get("run_dir") else None
    try:
        space = LabelSpace.from_meta(config["space"])
        return model_module(config.get("model"), where=where).build(config, space)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"config.json is damaged or from another version ({type(exc).__name__}: {exc})",
                         path=where, hint="retrain the model; a run's config.json is written by gymdata train") from None


def load_run(run: str | Path, *, checkpoint: str = "best.pt", device: str | torch.device = "cpu") -> tuple[Net, dict]:
    """A trained network (eval mode) and its run config.

    Raises:
        InputError: If the run or its checkpoint is missing.
    """
    path = run_path(run)
    config = read_run_config(path)
    config["run_dir"] = str(path)
    ckpt = path / checkpoint
    if not ckpt.is_file():
        raise InputError(f"the run has no {checkpoint} (has it finished an epoch?)", path=path)
    model = build_model(config)
    state = load_checkpoint(ckpt, device)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:  # missing/unexpected keys or wrong shapes: not this config's network
        raise InputError(f"checkpoint does not match config.json ({str(exc).splitlines()[0][:160]})", path=ckpt,
                         hint="the run folder mixes files of different runs; retrain it") from None
    return model.to(device).eval(), config


def evaluate_run(run: str | Path, *, part: str | None = None, data: str | Path | None = None,
                 device: str = "auto", threshold: float = THRESHOLD) -> dict:
    """Evaluate a run's best checkpoint on one part of its export; writes ``eval-<part>.json`` and
    ``.txt`` into the run folder and returns the report (with ``text``, the printed tables).

    Raises:
        InputError: If the part is missing or empty.
    """
    dev = pick_device(device)
    model, config = load_run(run, device=dev)
    part = part or config["parts"][2]
    which = config["parts"].index(part) if part in config["parts"] else 2
    parts = list(config["parts"])
    parts[which] = part
    units = open_part({**config, "parts": parts}, which, data=data)
    if units is None:
        raise InputError(f"no {part!r} units in the export", path=data or config.get(("data", "val_data", "test_data")[which]) or config["data"],
                         hint="choose a part the export holds with --part")
    preds, loss = predict(model, units, dev, workers=0)
    space = LabelSpace.from_meta(config["space"])
    report = evaluate(preds, space.exercises, space.criteria, threshold=threshold)
    report.update(part=part, loss=loss, run=config["run_id"], model=config["model"], samples=len(units))
    text = f"{config['model']} run {config['run_id']} on part {part!r} ({len(units)} samples)\n{format_report(report)}"
    run_dir = Path(config["run_dir"])
    (run_dir / f"eval-{part}.json").write_text(json.dumps(report, indent=2, default=float))
    (run_dir / f"eval-{part}.txt").write_text(text + "\n")
    report["text"] = text
    return report


def train_and_test(config: dict, model: Net, *, param_groups: list[dict] | None = None) -> dict:
    """Fit a model on its run's training part (monitoring the validation part), then evaluate the
    best checkpoint on the test part when the export has one. Returns the test report or the
    last epoch's record."""
    run = Path(config["run_dir"])
    train = open_part(config, 0)
    if train is None:
        raise InputError(f"no {config['parts'][0]!r} units in the export", path=config["data"],
                         hint="split the dataset (gymdata split NAME) before exporting, or name the parts with --parts")
    val = open_part(config, 1)
    if val is None:
        log.info("no %r part: monitoring the training loss", config["parts"][1])
    space = LabelSpace.from_meta(config["space"])
    log.info("run %s: %d training units, %d validation units, device %s", run.name, len(train),
             0 if val is None else len(val), pick_device(config["train"]["device"]))
    record = fit(model, run, train, val, loop_config(config), space, param_groups=param_groups,
                 resume=bool(config.get("resumed")))
    if open_part(config, 2) is None:
        return record
    return evaluate_run(run, device=config["train"]["device"])
