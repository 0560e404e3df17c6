"""``gymdata demo``: the whole pipeline on the built-in sample corpus, end to end.

Steps (each is skipped when its result is already up to date, so a rerun takes seconds):

1. generate the synthetic sample corpus under ``$GYMDATA_HOME/sources/``;
2. import it: the plain videos (with subjects, scores and repetitions) as ``NAME``, the ALEX-GYM-1
   layout (criteria, corpus poses) as ``NAME-alex``; validate both;
3. extract MediaPipe BlazePose landmarks for ``NAME`` on sampled frames;
4. make the subject-disjoint split of both datasets and check it for leakage;
5. export ``NAME``'s split as Hugging Face Parquet;
6. train the pose baseline (vcoach: per-criterion pass/fail from the ALEX-GYM-1 poses) on the CPU
   and evaluate it on the test part;
7. count the repetitions of ``NAME`` with the label-free counter and score it (MAE, OBO);
8. write the HTML report;
9. say how to open the App and where everything is.

Steps that change a dataset (import, poses, split) are no-ops by themselves when nothing changed.
Steps that only read datasets (export, training, counting, report) remember, in
``$GYMDATA_HOME/demo/state.json``, the version of what they read (the datasets' ``updated_at``)
and their parameters, and are skipped while both are the same and their output still exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gymdata import __version__, registry, store
from gymdata.errors import InputError
from gymdata.validate import validate

log = logging.getLogger("gymdata")

STEPS = 9
# Small enough that a fresh run of all steps takes a few minutes on 2 CPU cores.
POSE_FRAMES = 16
EPOCHS = 25
SPLIT_SEED = 0
# a small vcoach (the paper's is 256,128,64 channels and 128 GRU units): a minute on one CPU core
TRAIN_ARGS = ["--lr", "0.001", "--patience", "10", "--channels", "64,32,32", "--gru-hidden", "32",
              "--device", "cpu", "--seed", "0"]


def _step(i: int, text: str) -> None:
    click.echo(f"[{i}/{STEPS}] {text}")


def _say(text: str) -> None:
    click.echo(f"      {text}")


@contextlib.contextmanager
def _quiet(verbose: bool):
    """Hide what a step's command prints (its tables, epoch logs) unless --verbose: the demo prints
    the step's figures itself. Warnings and errors still show."""
    if verbose:
        yield
        return
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


class _State:
    """What the read-only steps produced last time, keyed by what they read (``demo/state.json``)."""

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self.path = store.home() / "demo" / "state.json"
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}

    @staticmethod
    def key(params: dict[str, Any], datasets: list[str]) -> str:
        versions = {n: store.open_dataset(n).meta.get("updated_at") for n in datasets}
        text = json.dumps({"params": params, "datasets": versions, "version": __version__}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def run(self, step: str, key: str, outputs: list[Path], fn: Callable[[], dict]) -> tuple[dict, bool]:
        """``fn()``'s figures, or the stored ones when ``key`` matches and ``outputs`` exist; and
        whether it was skipped."""
        done = self.data.get(step)
        if not self.force and done and done.get("key") == key and all(p.exists() for p in outputs):
            return done["result"], True
        result = fn()
        self.data[step] = {"key": key, "result": result}
        store.atomic_write_bytes(self.path, json.dumps(self.data, indent=2, default=str).encode())
        return result, False


def _importer(name: str, args: list[str]) -> bool:
    """Run ``gymdata import NAME ARGS`` if that importer is installed; returns whether it ran."""
    if name not in registry.available("gymdata.importers"):
        log.info("(importer %r not installed: step skipped)", name)
        return False
    command = registry.load("gymdata.importers", name)
    command.main(args=args, prog_name=f"gymdata import {name}", standalone_mode=False)
    return True


def _split(ds_name: str, verbose: bool, force: bool):
    """The dataset's default split ``seed<S>`` (made once), with its leakage report."""
    from gymdata.splits import make_split, stored_splits

    ds = store.open_dataset(ds_name)
    name = f"seed{SPLIT_SEED}"
    videos = ds.df("videos", columns=["split"])
    made = not force and name in stored_splits(ds) and bool(videos["split"].notna().all())
    if made:  # report on the stored split; store nothing
        result = make_split(ds, name, default=False, dry_run=True)
    else:
        result = make_split(ds, "group", seed=SPLIT_SEED)
    report = result.reports[0]
    if verbose:
        click.echo("\n".join(report.lines()))
    return report, made


def run_demo(*, name: str = "sample", seed: int = 0, subjects: int = 6, workers: int = 2, force: bool = False,
             pose_frames: int = POSE_FRAMES, epochs: int = EPOCHS, verbose: bool = False, to_stderr: bool = False
             ) -> dict:
    """Run the whole pipeline on the sample corpus (see the module docstring).

    Args:
        name: Dataset name of the plain videos (the ALEX-GYM-1 layout becomes ``NAME-alex``).
        seed: Seed of the sample corpus.
        subjects: Simulated people (at least 3: the split keeps each in one of three parts).
        workers: Worker processes (import, poses, exports).
        force: Regenerate and redo every step.
        pose_frames: Frames per clip for BlazePose.
        epochs: Training epochs of the pose baseline.
        verbose: Show what each step's command prints.
        to_stderr: Print the steps on stderr (``--json`` keeps stdout for the JSON).

    Returns:
        The figures of every step (also what ``gymdata demo --json`` prints).
    """
    if subjects < 3:
        raise InputError(f"--subjects {subjects} is too few", hint="the demo's split needs at least 3 people")
    with contextlib.redirect_stdout(sys.stderr) if to_stderr else contextlib.nullcontext():
        return _run(name, seed, subjects, workers, force, pose_frames, epochs, verbose)


def _run(name: str, seed: int, subjects: int, workers: int, force: bool, pose_frames: int, epochs: int,
         verbose: bool) -> dict:
    from gymdata.sample import generate_sample

    started = time.perf_counter()
    home = store.home()
    alex = f"{name}-alex"
    figures: dict[str, Any] = {}

    # 1. the sample corpus ------------------------------------------------------------------
    source = home / "sources" / f"sample-seed{seed}-subjects{subjects}"
    if force or not (source / "truth.json").is_file():
        _step(1, f"generating the sample corpus (seed {seed}, {subjects} people)")
        generate_sample(source, seed=seed, subjects=subjects, overwrite=True, progress=True)
    else:
        _step(1, "sample corpus already generated")
    takes = json.loads((source / "truth.json").read_text())["takes"]
    truth = {"subjects": len({t["subject"] for t in takes}), "takes": len(takes),
             "videos": sum(len(t["videos"]) for t in takes), "repetitions": sum(len(t["reps"]) for t in takes)}
    figures["sample"] = truth
    _say(f"{truth['videos']} videos ({truth['takes']} takes, frontal + lateral) of {truth['subjects']} simulated people, "
         f"{truth['repetitions']} repetitions -> {source}")

    # 2. import + validate ------------------------------------------------------------------
    _step(2, f"importing it: videos as {name!r}, the ALEX-GYM-1 layout as {alex!r}, then validating")
    flags = ["-j", str(workers)] + (["--force"] if force else [])
    videos = source / "videos"

    def version(ds_name: str) -> str | None:
        return store.open_dataset(ds_name).meta.get("updated_at") if ds_name in store.list_datasets() else None

    before = {n: version(n) for n in (name, alex)}
    with _quiet(verbose):
        _importer("videos", [str(videos), "--name", name, "--meta", str(videos / "subjects.csv"), *flags])
        _importer("repcount", [str(videos / "repcount.csv"), "--name", name])
        has_alex = _importer("alex-gym-1", [str(source / "alex-gym-1"), "--name", alex, *flags])
    names = [name, alex] if has_alex else [name]
    for ds_name in names:
        ds = store.open_dataset(ds_name)
        validate(ds)
        counts = ds.row_counts()
        labels = {t: counts[t] for t in ("criteria", "scores", "segments") if counts.get(t)}
        _say(f"{ds_name}: {counts.get('videos', 0)} clips, "
             + ", ".join(f"{n} {t}" for t, n in labels.items()) + (f", {counts['poses']:,} pose frames"
                                                                    if counts.get("poses") else "")
             + "; valid" + ("  (up to date)" if before[ds_name] == ds.meta.get("updated_at") else ""))
        figures.setdefault("datasets", {})[ds_name] = counts

    # 3. poses ------------------------------------------------------------------------------
    from gymdata.pose import extract_poses

    _step(3, f"extracting BlazePose landmarks of {name!r} ({pose_frames} frames per clip, cached by content)")
    report = extract_poses(name, workers=workers, frames=pose_frames, progress=True)
    rate = report.detected / report.frames if report.frames else 0.0
    figures["poses"] = {"clips": report.clips, "frames": report.frames, "detection_rate": rate,
                        "extracted": report.extracted, "failed": len(report.failed)}
    _say(f"person detected in {rate:.1%} of {report.frames:,} frames ({report.clips} clips: "
         f"{report.extracted} extracted, {report.clips - report.extracted - len(report.failed)} up to date, "
         f"{len(report.failed)} failed)")

    # 4. split ------------------------------------------------------------------------------
    _step(4, f"subject-disjoint split seed{SPLIT_SEED} (70/15/15) with its leakage report")
    for ds_name in names:
        split, made = _split(ds_name, verbose, force)
        sizes = split.table["clips"].to_dict()
        figures.setdefault("split", {})[ds_name] = {"sizes": sizes, "leaks": split.leaks}
        _say(f"{ds_name}: " + ", ".join(f"{p} {n}" for p, n in sizes.items()) + " clips"
             + (" (already made)" if made else "") + "; " + split.leak_lines()[0])
        if split.leaks:
            raise click.ClickException(f"the demo's split of {ds_name!r} leaks: {split.leak_lines()}")
        if ds_name == alex and "fail_rate" in split.table:
            figures["always_pass_hamming"] = float(split.table.loc["test", "fail_rate"])

    state = _State(force)

    # 5. Hugging Face export ----------------------------------------------------------------
    hf_out = home / "exports" / f"{name}-hf"
    _step(5, f"exporting {name!r} (its split, with poses) as Hugging Face Parquet")

    def export_hf() -> dict:
        exporter = registry.load("gymdata.exporters", "hf-parquet")
        res = exporter(store.open_dataset(name), hf_out, split=None, overwrite=True, workers=workers,
                       progress=False)
        return {"out": str(res.out), "clips": res.clips, "details": res.details}

    hf, skipped = state.run("export-hf", state.key({"format": "hf-parquet"}, [name]), [hf_out], export_hf)
    figures["export"] = hf
    parts = ", ".join(f"{k} {v}" for k, v in hf["details"].items())
    _say(f"{hf['clips']} clips ({parts}) -> {hf['out']}" + ("  (up to date)" if skipped else ""))
    _say(f"load it with: datasets.load_dataset('{hf['out']}')")

    # 6. train + evaluate the pose baseline --------------------------------------------------
    run_id = f"demo-vcoach-{alex}"
    train_args = ["--epochs", str(epochs), *TRAIN_ARGS]
    run_dir = home / "runs" / run_id
    if has_alex and "vcoach" in registry.available("gymdata.models"):
        _step(6, f"training the pose baseline (vcoach, criteria from poses) on {alex!r}, CPU, then testing it")
        arrays = home / "exports" / f"{alex}-arrays"

        def train() -> dict:
            import torch

            from baselines.evaluation import evaluate_run

            # one thread: on a small, busy machine torch's thread pool spins more than it computes
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            with _quiet(verbose), contextlib.ExitStack() as restore:
                restore.callback(torch.set_num_threads, threads)
                exporter = registry.load("gymdata.exporters", "arrays")
                exporter(store.open_dataset(alex), arrays, split=None, overwrite=True, workers=workers,
                         progress=False, video="false")
                shutil.rmtree(run_dir, ignore_errors=True)  # the demo's own run, retrained from scratch
                registry.load("gymdata.models", "vcoach").main(
                    args=["--data", str(arrays), "--run-id", run_id, *train_args],
                    prog_name="gymdata train vcoach", standalone_mode=False)
                report = evaluate_run(run_dir, device="cpu")
            return {"run": str(run_dir), "samples": report["samples"],
                    **{k: report["overall"][k] for k in ("hamming_loss", "accuracy", "f1") if k in report["overall"]}}

        t0 = time.perf_counter()
        model, skipped = state.run("train-vcoach", state.key({"train": train_args}, [alex]),
                                   [run_dir / "best.pt"], train)
        figures["baseline"] = model
        took = "up to date" if skipped else f"{time.perf_counter() - t0:.0f} s"
        base = figures.get("always_pass_hamming")
        _say(f"test part ({model['samples']} takes): Hamming loss {model['hamming_loss']:.3f}"
             + (f" (always 'pass': {base:.3f})" if base is not None else "")
             + f", criteria F1 {model['f1']:.3f}  ({took})")
        _say(f"run folder: {run_dir}  (gymdata evaluate {run_id})")
    else:
        _step(6, "pose baseline skipped (alex-gym-1 importer or vcoach model not installed)")

    # 7. repetition counting ----------------------------------------------------------------
    _step(7, f"counting the repetitions of {name!r} (label-free periodic counter, from its poses)")

    def count() -> dict:
        from baselines.counting import count_metrics
        from baselines.counting_data import count_dataset, true_counts

        ds = store.open_dataset(name)
        results = count_dataset(ds)
        truth = true_counts(ds, [c["video_id"] for c, _ in results])
        pairs = [(res.count, truth[c["video_id"]]) for c, res in results if c["video_id"] in truth]
        return count_metrics([p for p, _ in pairs], [t for _, t in pairs])

    counting, skipped = state.run("count", state.key({"counter": "periodic"}, [name]), [], count)
    figures["counting"] = counting
    _say(f"{counting['clips']} clips: MAE {counting['mae']:.3f} (relative to the true count), "
         f"OBO {counting['obo']:.1%} (off by at most one)" + ("  (up to date)" if skipped else ""))

    # 8. HTML report ------------------------------------------------------------------------
    from gymdata.report import write_report

    report_dir = home / "reports" / name
    _step(8, f"writing the HTML report of {name!r}")
    page, skipped = state.run("report", state.key({}, [name]), [report_dir / "index.html"],
                              lambda: {"page": str(write_report(store.open_dataset(name), report_dir))})
    figures["report"] = page["page"]
    _say(f"{page['page']}" + ("  (up to date)" if skipped else ""))

    # 9. where everything is ----------------------------------------------------------------
    _step(9, "done in {:.0f} s. Where everything is:".format(time.perf_counter() - started))
    lines = [
        ("store", f"{home}  (gymdata list; gymdata info {name})"),
        ("corpus", str(source)),
        ("export", str(hf_out)),
        ("baseline", str(run_dir) if has_alex else "-"),
        ("report", figures["report"]),
        ("label in the App", f"gymdata app {name} --annotator YOU   (http://127.0.0.1:5151, Ctrl+C stops;"
                             f" criteria of {alex}: gymdata fiftyone push {name} --criteria-from {alex} first)"),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        _say(f"{k.ljust(width)}  {v}")
    return figures
