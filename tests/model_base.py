"""The checks every registered model must pass, on CPU, in seconds (after torchvision's test
bases, as :mod:`tests.importer_base` does for importers).

A test class per model derives from :class:`ModelContract` and implements
:meth:`~ModelContract.make_data` (tiny training data: an ``arrays`` export, or a dataset in the
test's store) and, when the model needs them, :attr:`~ModelContract.train_args` (options that keep
it tiny). The contract then checks, through the ``gymdata`` CLI:

* the model is registered under its name (``gymdata train NAME``);
* one tiny run trains and leaves a complete run folder (``config.json`` naming the model and the
  run, and a trained result: ``best.pt``/``last.pt`` or ``model.npz``);
* every file of the run loads safely: checkpoints with ``torch.load(weights_only=True)``, arrays
  without pickle; the family's loader rebuilds the trained model from the folder alone;
* the run evaluates: ``gymdata evaluate RUN`` for networks (a report on the test part),
  ``gymdata count DATA --run RUN`` for counters (every clip counted by the run);
* training again under the same run id is one error line, and leaves the run as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from baselines.runs import RUN_RESULTS, load_checkpoint, run_path
from gymdata import registry
from tests.conftest import run_cli


class ModelContract:
    """Base class of the model tests (not collected itself: its name does not start with Test)."""

    #: Registered name: ``gymdata train <model>``.
    model: str
    #: ``network`` (a torch run, evaluated by ``gymdata evaluate``) or ``counter`` (a repetition
    #: counter, evaluated by ``gymdata count``).
    family: str = "network"
    #: Extra training options that keep the run tiny.
    train_args: tuple[str, ...] = ()

    # -- what each model's test class provides ----------------------------------------------------

    def make_data(self, tmp_path: Path) -> str:
        """Write tiny training data; return what ``--data`` takes (an export folder or a dataset)."""
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------------

    def train(self, data: str, run_id: str) -> tuple[int, str, str]:
        return run_cli("train", self.model, "--data", data, "--run-id", run_id, *self.train_args)

    def load(self, run_id: str):
        """The trained model rebuilt from its run folder by the family's loader."""
        if self.family == "network":
            from baselines.evaluation import load_run

            model, config = load_run(run_id)
            assert not model.training, "a loaded network must be in eval mode"
            return config
        from baselines.counting_data import load_counter

        counter = load_counter(run_id)
        assert counter.run_id == run_id and counter.exercises
        return counter

    def test_registered(self):
        assert self.model in registry.available("gymdata.models")

    def test_trains_saves_loads_safely_and_evaluates(self, tmp_path):
        data = self.make_data(tmp_path)
        run_id = f"{self.model}-contract"
        code, out, err = self.train(data, run_id)
        assert code == 0, err
        folder = run_path(run_id)
        config = json.loads((folder / "config.json").read_text())
        assert config["model"] == self.model and config["run_id"] == run_id
        assert any((folder / name).is_file() for name in RUN_RESULTS), sorted(p.name for p in folder.iterdir())
        for ckpt in folder.glob("*.pt"):  # tensors and plain containers only
            assert isinstance(load_checkpoint(ckpt)["model"], dict)
        for npz in folder.glob("*.npz"):
            with np.load(npz, allow_pickle=False) as arrays:
                assert arrays.files
        self.load(run_id)

        if self.family == "network":
            code, out, err = run_cli("evaluate", run_id, "--json")
            assert code == 0, err
            report = json.loads(out)
            assert report["run"] == run_id and report["samples"] > 0 and report["overall"]
        else:
            code, out, err = run_cli("count", data, "--run", run_id, "--json")
            assert code == 0, err
            report = json.loads(out)
            assert report["clips"] and {c["counter"] for c in report["clips"]} <= {run_id, "periodic"}
            assert run_id in {c["counter"] for c in report["clips"]}

        before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        code, _, err = self.train(data, run_id)
        assert code != 0 and err.strip().count("\n") == 0 and "exists" in err, err
        assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
