"""``gymdata export-model RUN --onnx``: the best checkpoint as ONNX (batch 1, opset 17) with a JSON
sidecar describing inputs, outputs and labels; the ONNX model is run with onnxruntime on real
and random inputs and its outputs compared with PyTorch's.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from baselines.evaluation import load_run
from baselines.nets import LabelSpace, Net, model_inputs
from baselines.training import open_part
from gymdata.errors import GymdataError


class Deployed(nn.Module):
    """A network with probabilities as outputs, in a fixed order: ``criteria`` (sigmoid,
    (B, E, W)), ``exercise`` (softmax, (B, E)), ``score`` (0..100, (B,)), those it has."""

    def __init__(self, model: Net, outputs: Sequence[str]):
        super().__init__()
        self.model, self.outputs = model, tuple(outputs)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(*inputs)
        conv = {"criteria": torch.sigmoid, "exercise": lambda x: torch.softmax(x, -1), "score": lambda x: x * 100}
        return tuple(conv[k](out[k].float()) for k in self.outputs)


def example_inputs(model: Net, config: dict) -> list[list[torch.Tensor]]:
    """Inputs to check an export with: a real sample of the run's export when it is still there,
    and a random one."""
    from gymdata.features import normalize_landmarks

    v = len(config["views"] or [None])
    t, s = int(config["frames"]), int(config["size"])
    gen = torch.Generator().manual_seed(0)
    pose = torch.rand(1, v, t, 33, 4, generator=gen)
    random = {"video": torch.randint(0, 256, (1, v, t, s, s, 3), dtype=torch.uint8, generator=gen),
              "pose": pose, "normalized": normalize_landmarks(pose)}
    found = [[random[n] for n in model.input_names]]
    for which in (2, 1, 0):
        try:
            units = open_part(config, which)
        except GymdataError:
            break  # the export is gone (another machine): random inputs only
        if units is not None:
            found.insert(0, model_inputs(units.__getitems__([0]), model.input_names, torch.device("cpu")))
            break
    return found


def export_onnx(run: str | Path, out: str | Path | None = None, *, atol: float = 1e-4, rtol: float = 1e-3) -> dict:
    """Export a run's best checkpoint to ONNX and check it against PyTorch (see the module docstring).

    Returns:
        ``onnx`` (path), ``sidecar``, ``inputs``, ``outputs``, ``max_abs_diff`` per output.

    Raises:
        GymdataError: If onnxruntime's outputs differ from PyTorch's beyond the tolerance.
    """
    import onnxruntime as ort

    model, config = load_run(run, device="cpu")
    run_dir = Path(config["run_dir"])
    out = Path(out) if out else run_dir / "model.onnx"
    samples = example_inputs(model, config)
    with torch.no_grad():
        raw = model(*samples[0])
    outputs = [k for k in ("criteria", "exercise", "score") if k in raw]
    deployed = Deployed(model, outputs).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with warnings.catch_warnings():  # the tracer's notes on Python-side shape checks, not problems here
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(deployed, tuple(samples[0]), str(tmp), dynamo=False, opset_version=17,
                              input_names=list(model.input_names), output_names=outputs)
        except Exception as exc:  # the exporter's errors are long graph dumps: keep the first line
            tmp.unlink(missing_ok=True)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GymdataError(f"run {config['run_id']} ({config['model']}) does not export to ONNX: {first[:300]}",
                               path=run_dir, hint="report this with the run's config.json") from exc
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    diffs = {k: 0.0 for k in outputs}
    for inputs in samples:
        with torch.no_grad():
            expected = [e.numpy() for e in deployed(*inputs)]
        got = session.run(outputs, {n: x.numpy() for n, x in zip(model.input_names, inputs)})
        for name, e, g in zip(outputs, expected, got):
            diffs[name] = max(diffs[name], float(np.max(np.abs(e - g))))
            if not np.allclose(g, e, atol=atol, rtol=rtol):
                tmp.unlink(missing_ok=True)
                raise GymdataError(f"ONNX output {name!r} differs from PyTorch's by up to {np.max(np.abs(e - g)):.3g}",
                                   path=out, hint="report this with the run's config.json")
    os.replace(tmp, out)  # only a checked model takes the name
    space = LabelSpace.from_meta(config["space"])
    shapes = {n: list(x.shape) for n, x in zip(model.input_names, samples[0])}
    sidecar = {
        "run": config["run_id"], "model": config["model"], "opset": 17, "batch": 1,
        "inputs": {n: {"shape": shapes[n], "dtype": str(samples[0][i].dtype).replace("torch.", ""),
                       "meaning": _INPUT_DOC[n]} for i, n in enumerate(model.input_names)},
        "outputs": {k: _OUTPUT_DOC[k] for k in outputs},
        "views": config["views"] or ["any"], "frames": config["frames"], "size": config["size"],
        "exercises": list(space.exercises), "criteria": {k: list(v) for k, v in space.criteria.items()},
        "checked": {"samples": len(samples), "max_abs_diff": diffs, "atol": atol, "rtol": rtol,
                    "onnxruntime": ort.__version__},
    }
    side = out.with_suffix(".json")
    side.write_text(json.dumps(sidecar, indent=2))
    return {"onnx": str(out), "sidecar": str(side), "inputs": shapes, "outputs": outputs, "max_abs_diff": diffs}


_INPUT_DOC = {
    "video": "uint8 RGB frames (batch, view, T, size, size, 3), sampled uniformly, squashed to size x size",
    "pose": "float32 BlazePose landmarks (batch, view, T, 33, 4): x, y image-normalised, z, visibility; "
            "zeros where no person",
    "normalized": "float32 (batch, 1, T, 133): gymdata.features.normalize_landmarks of the landmarks",
}


_OUTPUT_DOC = {
    "criteria": "(batch, exercises, slots) probability that each criterion is met; use the row of the "
                "exercise, its first len(criteria[exercise]) slots",
    "exercise": "(batch, exercises) probability of each exercise",
    "score": "(batch,) score 0..100",
}
