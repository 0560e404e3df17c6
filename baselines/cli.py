"""The baselines' commands: ``gymdata train MODEL`` (shared options and what every train command
does), ``gymdata evaluate``, ``gymdata count``, ``gymdata score``, ``gymdata export-model`` and the
counters' train commands. Library logic lives in the modules the commands call; this module only
parses options and prints (a short summary by default, ``--json`` for the machine form).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING
from pathlib import Path

import click

from baselines import gmm, poserac
from baselines.counter_features import VIEWS
from baselines.metrics import THRESHOLD
from gymdata import store
from gymdata.errors import InputError
from gymdata.output import emit, json_option

if TYPE_CHECKING:
    from baselines.nets import Net

# Heavy modules (torch, the networks, MediaPipe) are imported inside the commands that need them,
# so that a command loads only what it runs.


def train_options(lr: float, batch_size: int = 16, views: str = "frontal,lateral") -> Callable:
    """The options every ``gymdata train MODEL`` command shares (defaults per model)."""
    def decorate(fn):
        options = [
            click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
                         help="An arrays export (gymdata export NAME --format arrays OUT)."),
            click.option("--val-data", type=click.Path(file_okay=False, path_type=Path),
                         help="Export holding the validation part (default: --data)."),
            click.option("--test-data", type=click.Path(file_okay=False, path_type=Path),
                         help="Export holding the test part (default: --data)."),
            click.option("--parts", default="train,val,test", show_default=True,
                         help="Names of the training, validation and test parts."),
            click.option("--exercise", "exercises", multiple=True, help="Train on this exercise only (repeatable)."),
            click.option("--views", default=views, show_default=True,
                         help="Views per sample, one stream each, or 'any' (every clip alone, one stream)."),
            click.option("--epochs", type=int, default=None, help="Most epochs (default 100)."),
            click.option("--batch-size", type=int, default=batch_size, show_default=True),
            click.option("--lr", type=float, default=lr, show_default=True, help="Adam learning rate."),
            click.option("--clip-grad", type=float, default=1.0, show_default=True, help="Max gradient norm (0: off)."),
            click.option("--patience", type=int, default=10, show_default=True, help="Early-stopping patience."),
            click.option("--monitor", type=click.Choice(["metric", "loss"]), default="metric", show_default=True,
                         help="What early stopping and the best checkpoint follow on the validation part: its "
                              "metric (Hamming loss, or score MAE; ties broken by the loss) or its loss."),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
            # threads, not processes: -j (worker processes) does not apply; "workers" stays the
            # run config's key so that older runs resume
            click.option("--loader-threads", "workers", type=int, default=None,
                         help="Batch reader threads (default 6 on CUDA, 0 on CPU)."),
            click.option("--no-amp", is_flag=True, help="No bf16 autocast on CUDA."),
            click.option("--run-id", help="Name of the run folder (default <model>-<export>-<time>)."),
            click.option("--resume", "resume", metavar="RUN", help="Continue an interrupted run (its config is reused)."),
            json_option,  # read by run_train_command (json_requested)
        ]
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return decorate


@click.command("evaluate")
@click.argument("run")
@click.option("--part", help="Part to evaluate (default: the run's test part).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), help="Another export of the same dataset.")
@click.option("--device", default="auto", show_default=True)
@click.option("--threshold", type=float, default=THRESHOLD, show_default=True, help="Probability of 'met'.")
@json_option
def evaluate_command(run: str, part: str | None, data: Path | None, device: str, threshold: float,
                     as_json: bool) -> None:
    """Evaluate trained run RUN (id or folder): Hamming loss, per-criterion F1/accuracy, score
    MAE/RMSE, Spearman rho and relative L2, per exercise."""
    from baselines.evaluation import evaluate_run

    report = evaluate_run(run, part=part, data=data, device=device, threshold=threshold)
    text = report.pop("text")
    click.echo(json.dumps(report, indent=2, default=float) if as_json else text)


def run_train_command(model_name: str, module: str, opts: dict, params: dict,
                      build_fn: Callable[[dict], tuple[Net, list | None]], *, video: bool, pose: bool) -> dict:
    """What every ``gymdata train MODEL`` command does: set up (or resume) the run, build the
    model, train, test, print the test tables and where the run is (both as JSON with ``--json``).
    Returns the config."""
    from baselines.evaluation import train_and_test
    from baselines.training import seed_everything, start_run

    opts = {k: v for k, v in opts.items() if k != "as_json"}  # printing only: not part of the run's config
    config = start_run(model_name, module, opts, params, video=video, pose=pose)
    config["resumed"] = bool(opts.get("resume"))
    seed_everything(config["train"]["seed"])  # the initial weights depend on the seed only
    try:
        model, groups = build_fn(config)
        result = train_and_test(config, model, param_groups=groups)
    except BaseException as exc:
        run = Path(config["run_dir"])
        if not config["resumed"] and not (run / "last.pt").is_file():
            # nothing to resume: remove the folder so that it is not taken for a run
            shutil.rmtree(run, ignore_errors=True)
            if isinstance(exc, KeyboardInterrupt):
                click.echo("interrupted before the first epoch ended: nothing was kept", err=True)
        elif isinstance(exc, KeyboardInterrupt):
            click.echo(f"interrupted: resume with gymdata train {model_name} --resume {config['run_id']}", err=True)
        raise
    text = result.pop("text", None)
    emit({"run": config["run_id"], "run_dir": str(config["run_dir"]), "result": result},
         [*([text] if text else []), f"run folder: {config['run_dir']}"])
    return config


@click.command("count")
@click.argument("target")
@click.option("--run", "run", default=None,
              help="A trained counter run (poserac or gmm; id or folder); default: the label-free periodic counter.")
@click.option("--write", is_flag=True, help="Store the segments (origin model) in the dataset.")
@click.option("--clip", "clips", multiple=True, help="Only this clip (video_id; repeatable).")
@click.option("--split", default=None, help="Dataset: only clips of this split (e.g. test).")
@click.option("--per-clip", is_flag=True, help="Dataset: also print one line per clip (the default with --clip).")
@json_option
@click.option("--exercise", default=None,
              help="Exercise of a VIDEO file (picks the run's model; default the run's only exercise).")
@click.option("--frames", type=int, default=None,
              help="VIDEO: extract poses on T uniformly sampled frames instead of every frame (faster).")
def count_command(target: str, run: str | None, write: bool, clips: tuple[str, ...], split: str | None,
                  per_clip: bool, as_json: bool, exercise: str | None, frames: int | None) -> None:
    """Count repetitions in dataset TARGET (from its poses) or in a VIDEO file.

    \b
    For a dataset: prints, per exercise, the counter, the clips, MAE and OBO where true counts
    exist (repetition segments, or a corpus's count), the mean count and the clips counted 0
    (--per-clip or --clip: one line per clip too; --json: everything as JSON); --write stores the
    repetitions and A/R states as model segments, annotated by the run id or 'periodic',
    replacing that annotator's earlier ones.
    For a video file: extracts poses (cached by content), counts and prints a summary line
    (--json: the whole report, with the repetitions and A/R states in frame numbers).
    Without --run the label-free periodic counter is used; a trained run (gymdata train poserac,
    gymdata train gmm) falls back to it for exercises it was not trained on.
    """
    from baselines.counting import PeriodicCounter
    from baselines.counting_data import (clip_info, count_dataset, count_report, count_video, format_video_count,
                                         load_counter, write_segments)
    from baselines.runs import json_default

    from gymdata.cli import format_table
    from gymdata.media import is_video

    counter = load_counter(run) if run else PeriodicCounter()
    path = Path(target)
    if path.is_file():
        if write or clips:
            raise InputError("--write and --clip apply to datasets, not to a video file",
                             hint="import the video first (gymdata import videos) to store its segments")
        if exercise:
            from gymdata import vocab

            exercise = vocab.normalise(exercise)
        elif len(getattr(counter, "exercises", ())) == 1:  # a run of one exercise: that one
            exercise = counter.exercises[0]
        report = count_video(path, counter, exercise=exercise, frames=frames)
        emit(report, format_video_count(report))
        return
    if is_video(path) or "/" in target:
        raise InputError("no such video file or dataset", path=path,
                         hint="give a dataset name (gymdata list) or the path of a video file")
    ds = store.open_dataset(target)
    selected = list(clips) if clips else None
    if split is not None:
        selected = [c["video_id"] for c in clip_info(ds, selected) if c["split"] == split]
        if not selected:
            raise InputError(f"no clip of split {split!r} in dataset {ds.name!r}", hint=f"see: gymdata info {ds.name}")
    results = count_dataset(ds, counter, selected)
    report = count_report(ds, results)
    without = (len(selected) if selected is not None else ds.count("videos")) - len(results)
    report["without_poses"] = without
    if write:
        report["written"] = write_segments(ds, {clip["video_id"]: res for clip, res in results})
    if as_json:
        click.echo(json.dumps(report, indent=2, default=json_default))
        return
    if per_clip or clips:
        columns = ["clip", "exercise", "counter", "count", "truth", "error", "period_s", "note"]
        click.echo(format_table(["clip", "exercise", "counter", "count", "truth", "error", "period (s)", "note"],
                                [[r[c] for c in columns] for r in report["clips"]]) + "\n")
    columns = ["exercise", "counter", "clips", "with_truth", "mae", "obo", "mean_count", "zero"]
    rows = [[r[c] for c in columns] for r in report["exercises"]]
    if len(report["exercises"]) > 1:
        rows.append(["all", *[report["all"][c] for c in columns[1:]]])
    click.echo(format_table(["exercise", "counter", "clips", "with truth", "MAE", "OBO", "mean count", "counted 0"],
                            rows))
    if without:
        click.echo(f"{without} clip(s) without poses skipped (gymdata pose {ds.name})")
    if write:
        annotators = ", ".join(sorted({res.counter for _, res in results}))
        click.echo(f"wrote {report['written']} segments of {len(results)} clip(s) to {ds.name!r} "
                   f"(origin model, annotator {annotators})")


@click.command(gmm.MODEL)
@click.option("--data", "name", required=True, help="Dataset with poses and repetition (or A/R) segments.")
@click.option("--exercise", "exercises", multiple=True, help="Only this exercise (repeatable).")
@click.option("--clips", "clips_per_exercise", default=1, show_default=True,
              help="Labelled clips per exercise to train on (1 = one-shot, 0 = all).")
@click.option("--split", default=None, help="Train only on clips of this split.")
@click.option("--components", default=gmm.GMMParams.components, show_default=True, help="Mixture components.")
@click.option("--seed", default=0, show_default=True, help="Seed (clip choice, mixture initialisation).")
@click.option("--run-id", default=None, help="Run id (default gmm-<dataset>-<UTC time>).")
@json_option
def gmm_command(name: str, exercises: tuple[str, ...], clips_per_exercise: int, split: str | None, components: int,
                seed: int, run_id: str | None, as_json: bool) -> None:
    """Train the GMM repetition counter (Active/Resting frames, one-shot per exercise).

    Saves the run in $GYMDATA_HOME/runs/<run-id>/ and prints, per exercise, the counting MAE/OBO of
    the GMM and of the label-free counter on the labelled clips it did not train on. Use it with
    `gymdata count NAME --run RUN`.
    """
    from gymdata.cli import format_table

    if components < 1:
        raise InputError(f"--components must be at least 1, not {components}")
    run, metrics = gmm.train(name, exercises=exercises, clips_per_exercise=clips_per_exercise, split=split,
                         params=gmm.GMMParams(components=components, seed=seed), run_id=run_id)
    rows = []
    for ex, m in sorted(metrics["exercises"].items()):
        g, p = m.get("gmm", {}), m.get("periodic", {})
        rows.append([ex, len(m["train_clips"]), m["train_frames"], m["eval_clips"], g.get("mae"), g.get("obo"),
                     p.get("mae"), p.get("obo")])
    emit({"run": run, "run_dir": str(store.home() / "runs" / run), "metrics": metrics},
         [format_table(["exercise", "train clips", "train frames", "eval clips", "gmm MAE", "gmm OBO",
                        "periodic MAE", "periodic OBO"], rows), f"run {run} saved in {store.home() / 'runs' / run}"])


@click.command(poserac.MODEL)
@click.option("--data", "name", required=True, help="Dataset with poses and A/R (salient-pose) segments.")
@click.option("--exercise", "exercises", multiple=True, help="Only this exercise (repeatable).")
@click.option("--split", default=None,
              help="Train on clips of this split ('all': every split; default: 'train' if it has "
                   "labelled clips, else all).")
@click.option("--epochs", default=poserac.PoseRACParams.epochs, show_default=True, help="Passes over the training frames.")
@click.option("--hidden", default=poserac.PoseRACParams.hidden, show_default=True, help="Units per hidden layer.")
@click.option("--view", "views", multiple=True, type=click.Choice(VIEWS),
              help="Pose view to train (repeatable; default all three).")
@click.option("--seed", default=0, show_default=True, help="Seed (initialisation, batches, validation clips).")
@click.option("--run-id", default=None, help="Run id (default poserac-<dataset>-<UTC time>).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def poserac_command(name: str, exercises: tuple[str, ...], split: str | None, epochs: int, hidden: int,
                    views: tuple[str, ...], seed: int, run_id: str | None, as_json: bool) -> None:
    """Train the learned (PoseRAC-style) repetition counter on salient-pose frames.

    Saves the run in $GYMDATA_HOME/runs/<run-id>/ and prints, per exercise, the A/R accuracy on
    held-out training clips and the counting MAE/OBO on the dataset's clips with counts that it
    did not train on. Use it with `gymdata count NAME --run RUN`.
    """
    from gymdata.cli import format_table

    if epochs < 1 or hidden < 1:
        raise InputError("--epochs and --hidden must be at least 1")
    params = poserac.PoseRACParams(hidden=hidden, epochs=epochs, seed=seed, views=tuple(views) or VIEWS)
    if split is None:  # the train split when it holds labelled frames, else every split
        try:
            poserac.salient_frames(store.open_dataset(name), exercises, "train")
            split = "train"
        except InputError:
            split = "all"
    run, metrics = poserac.train(name, exercises=exercises, split=None if split == "all" else split, params=params,
                         run_id=run_id)
    if as_json:
        click.echo(json.dumps({"run": run, **metrics}, indent=2))
        return
    rows = []
    for ex, m in sorted(metrics["exercises"].items()):
        tr, va, co = m.get("training", {}), m.get("validation", {}), m.get("counting", {})
        rows.append([ex, tr.get("frames"), tr.get("accuracy"), va.get("accuracy"), co.get("clips"), co.get("mae"),
                     co.get("obo")])
    click.echo(format_table(["exercise", "frames", "train acc", "held-out acc", "counted clips", "MAE", "OBO"], rows))
    click.echo(f"run {run} saved in {store.home() / 'runs' / run} ({metrics['train_seconds']} s)")


def format_report_summary(report: dict) -> str:
    """The few lines ``gymdata score`` prints (``--json`` prints the whole report)."""
    ex = report["exercise"]
    lines = [f"{', '.join(Path(v).name for v in report['videos'])}: {ex['name']} ({ex['confidence']:.0%}), "
             f"run {report['run']} ({report['model']})"]
    if "score" in report:
        lines.append(f"  score       {report['score']['value']:.1f}/100 ({report['score']['kind']})")
    reps = report["repetitions"]
    lines.append(f"  repetitions {reps['count']} ({reps['counter']}{', ' + reps['reason'] if reps['reason'] else ''})")
    for c in report.get("criteria", []):
        lines.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['probability']:.2f}  {c['criterion']}")
    for r in report.get("per_repetition", []):
        failed = [c["criterion"] for c in r.get("criteria", []) if not c["passed"]]
        lines.append(f"  repetition frames {r['start_frame']}-{r['end_frame']}: "
                     + (f"failed {'; '.join(failed)}" if failed else "all criteria passed"))
    lines.append(f"  report      {report['json']}")
    lines.extend(f"  overlay     {o}" for o in report.get("overlays", []))
    return "\n".join(lines)


def format_live(stats: dict) -> str:
    """The lines ``gymdata score --live`` prints at the end."""
    lines = [f"{stats['source']}: {stats.get('frames', 0)} frames at {stats.get('fps', 0):.1f} frames/s, "
             f"{stats.get('verdicts', 0)} verdicts (run {stats['run']})"]
    last = stats.get("last")
    if last:
        lines.append(f"  last verdict: {last['exercise']['name']} ({last['exercise']['confidence']:.0%})"
                     + (f", score {last['score']['value']:.0f}/100" if "score" in last else ""))
    if stats.get("repetitions") is not None:
        lines.append(f"  repetitions {stats['repetitions']}")
    if stats.get("output"):
        lines.append(f"  video       {stats['output']}")
    return "\n".join(lines)


@click.command("score")
@click.argument("videos", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--run", "run", required=True, help="Trained run (id or folder).")
@click.option("--live", "live", metavar="SOURCE", help="Score a camera index, stream URL or file frame by frame.")
@click.option("--out", "--output", "output", type=click.Path(path_type=Path),
              help="Folder of the report and overlays (default: the current folder); with --live, the "
                   "annotated video to write when headless.")
@click.option("--no-overlay", is_flag=True, help="Do not write the overlay video.")
@click.option("--counter", "counter_run", metavar="RUN",
              help="A trained gmm run to count repetitions with (default: the label-free periodic counter).")
@click.option("--headless", is_flag=True, default=None, help="--live: never open a window (default: when no display).")
@click.option("--max-frames", type=int, help="--live: stop after this many frames.")
@click.option("--window", "window_s", type=float, default=3.0, show_default=True, help="--live: seconds judged.")
@click.option("--every", type=int, default=8, show_default=True, help="--live: judge every N frames.")
@click.option("--device", default="cpu", show_default=True)
@json_option
def score_command(videos: tuple[Path, ...], run: str, live: str | None, output: Path | None, no_overlay: bool,
                  counter_run: str | None, headless: bool | None, max_frames: int | None, window_s: float, every: int,
                  device: str, as_json: bool) -> None:
    """Judge VIDEO (one per view of the run) with a trained run: JSON report + overlay video.

    \b
    gymdata score squat.mp4 --run RUN
    gymdata score front.mp4 side.mp4 --run RUN        (a two-view run)
    gymdata score --live 0 --run RUN                  (camera 0; q quits)
    gymdata score --live clip.mp4 --run RUN --headless --out annotated.mp4
    """
    from baselines.live import score_live
    from baselines.scoring import score_video

    if live is not None:
        if videos:
            raise InputError("give VIDEO or --live SOURCE, not both")
        stats = score_live(live, run, output=output, headless=headless, max_frames=max_frames, window_s=window_s,
                           every=every, device=device)
        click.echo(json.dumps(stats, indent=2, default=str) if as_json else format_live(stats))
        return
    if not videos:
        raise InputError("no VIDEO given", hint="gymdata score VIDEO --run RUN, or --live SOURCE")
    report = score_video(videos, run, out_dir=output, overlay=not no_overlay, counter_run=counter_run, device=device)
    click.echo(json.dumps(report, indent=2) if as_json else format_report_summary(report))


@click.command("export-model")
@click.argument("run")
@click.option("--onnx", "onnx_", is_flag=True, required=True, help="Export to ONNX (the only format so far).")
@click.option("--out", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="The .onnx file (default RUN/model.onnx).")
@json_option
def export_model_command(run: str, onnx_: bool, output: Path | None, as_json: bool) -> None:
    """Export trained run RUN for deployment, and check the export against PyTorch.

    \b
    gymdata export-model RUN --onnx [--out model.onnx]
    """
    from baselines.deploy import export_onnx

    result = export_onnx(run, output)
    diffs = ", ".join(f"{k} {v:.2g}" for k, v in result["max_abs_diff"].items())
    emit(result, f"wrote {result['onnx']} (+ {Path(result['sidecar']).name}); onnxruntime matches PyTorch "
         f"(max abs diff: {diffs})")
