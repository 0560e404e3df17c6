"""The labelling plugin's FiftyOne operators (the panels are in :mod:`annotators.panel`).

Registered by ``annotators/plugin/__init__.py`` (the plugin package FiftyOne loads, installed by
:func:`annotators.app.install_plugin`). Every operator works on the sample open in the App
(``ctx.current_sample``) or the ``sample_id`` param (a view clip or a two-view take), records the
annotator (param ``annotator``, default ``$GYMDATA_ANNOTATOR`` or the OS user), builds its edits with
:mod:`annotators.editing` (the same builders the panels use) and applies them there. Frame numbers
everywhere a person sees or types them are the player's, which counts from 0 like the store and the
exports; only FiftyOne's ``TemporalDetection.support`` inside the dataset is 1-based (FiftyOne's own
convention, converted in :func:`annotators.foapi.render`).

Operators (URI ``@gymdata/annotate/<name>``):

=====================  ==========================================================================
``set_criterion``      ``criterion``, ``verdict`` (pass / fail / unsure)
``pass_remaining``     ``verdict`` (default pass) for every criterion the annotator has not judged
                       (optional ``view``: only that view's)
``set_score``          ``score`` 0-100 (``name`` defaults to ``quality``)
``add_repetition``     ``start_frame``, ``end_frame``
``edit_repetition``    ``segment`` (id), ``start_frame``, ``end_frame``
``delete_repetition``  ``segment`` (id), or the repetition selected in the App
``mark_state``         ``state`` (A, R or none), ``start_frame``, ``end_frame``
``add_penalty``        ``keystep``, ``error_type`` (from the knowledge graph when the dataset has
                       one), ``points``, ``feedback``, optional ``start_frame``/``end_frame``
``move_penalty``       ``penalty`` (id), ``start_frame``, ``end_frame``
``delete_penalty``     ``penalty`` (id)
``suggest``            run the repetition counter on the clip (:mod:`annotators.suggest`)
``accept_suggestions`` make the suggested repetitions and states the clip's labels
``panel_state``        (read only) what the keyboard/timeline panel shows for ``sample_id``
``next_clip``          open the next clip of the labelling queue (:mod:`annotators.queue`)
=====================  ==========================================================================

Every edit operator returns ``applied`` (the edit ids appended) and, when called with
``with_state=True`` (the keyboard panel does), ``state``: the sample's labels after the edit, so the
panel shows them without asking again.
"""

from __future__ import annotations

from typing import Any

import fiftyone.operators as foo
import fiftyone.operators.types as types

from annotators import editing as E
from annotators import labels as L
from annotators import suggest as S
from gymdata.errors import GymdataError

PLUGIN = "@gymdata/annotate"


def sample_id(ctx) -> str:
    sid = ctx.params.get("sample_id") or ctx.current_sample
    if not sid:
        raise GymdataError("no sample is open", hint="open a clip in the App (or pass sample_id)")
    return str(sid)


def annotator(ctx) -> str:
    return str(ctx.params.get("annotator") or "").strip() or L.default_annotator()


def _clip(ctx) -> dict[str, Any] | None:
    """The open clip (for forms); None when no gymdata sample is open."""
    sid = ctx.params.get("sample_id") or ctx.current_sample
    if not sid or ctx.dataset is None:
        return None
    try:
        return E.read(ctx.dataset, sid)
    except GymdataError:
        return None


def _common_inputs(inputs: types.Object) -> None:
    inputs.str("annotator", label="Annotator", description="Your name (default: $GYMDATA_ANNOTATOR or the OS user)",
               default=L.default_annotator())


def refresh(ctx) -> None:
    """Ask the App to redraw the sample's labels (a no-op when run headlessly)."""
    ctx.ops.reload_samples()


class _EditOperator(foo.Operator):
    """An operator that turns its params into edits of the open clip (or take)."""

    name = ""
    label = ""

    @property
    def config(self):
        return foo.OperatorConfig(name=self.name, label=f"Gym labels: {self.label}", dynamic=True)

    def edits(self, ctx, clip: dict[str, Any], who: str) -> list[dict]:
        raise NotImplementedError

    def execute(self, ctx):
        sid = sample_id(ctx)
        who = annotator(ctx)
        applied = E.apply(ctx.dataset, sid, self.edits(ctx, E.read(ctx.dataset, sid), who))
        refresh(ctx)
        out: dict[str, Any] = {"applied": [e["id"] for e in applied]}
        if ctx.params.get("with_state"):
            out["state"] = E.panel_state(ctx.dataset, sid, who)
        return out


class SetCriterion(_EditOperator):
    name, label = "set_criterion", "criterion verdict"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        names = [n for n, _ in E.criteria(ctx.dataset, clip)] if clip else []
        if names:
            inputs.enum("criterion", names, label="Criterion", required=True, view=types.DropdownView())
        else:
            inputs.str("criterion", label="Criterion", required=True)
        verdicts = types.RadioGroup(orientation="horizontal")
        for v in L.VERDICTS:
            verdicts.add_choice(v, label=v)
        inputs.enum("verdict", verdicts.values(), label="Verdict", required=True, view=verdicts)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return [E.criterion(clip, who, ctx.params.get("criterion"), ctx.params.get("verdict"))]


class PassRemaining(_EditOperator):
    name, label = "pass_remaining", "pass every criterion not judged yet"

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.enum("verdict", list(L.VERDICTS), label="Verdict", default="pass")
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return E.remaining_verdicts(ctx.dataset, clip, who, ctx.params.get("verdict") or "pass",
                                    ctx.params.get("view") or None)


class SetScore(_EditOperator):
    name, label = "set_score", "quality score"

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.float("score", label="Quality score (0-100)", required=True)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return [E.score(who, ctx.params.get("score"), ctx.params.get("name"))]


def _frame_inputs(inputs: types.Object, clip: dict[str, Any] | None, *, required: bool = True) -> None:
    n = clip.get("num_frames") if clip else None
    hint = f"0-{n - 1}, as the player counts" if n else "as the player counts, from 0"
    inputs.int("start_frame", label="Start frame", description=hint, required=required)
    inputs.int("end_frame", label="End frame", description=hint, required=required)


def segment_choices(clip: dict[str, Any] | None, kind: str = "repetition") -> types.DropdownView:
    choices = types.DropdownView()
    for s in (clip["labels"]["segments"] if clip else []):
        if s["kind"] == kind:
            choices.add_choice(s["id"], label=f"{s['label']} {s['start']}-{s['end']} ({s.get('annotator')})")
    return choices


class AddRepetition(_EditOperator):
    name, label = "add_repetition", "add a repetition"

    def resolve_input(self, ctx):
        inputs = types.Object()
        _frame_inputs(inputs, _clip(ctx))
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return [E.repetition(clip, who, ctx.params.get("start_frame"), ctx.params.get("end_frame"))]


class EditRepetition(_EditOperator):
    name, label = "edit_repetition", "adjust a repetition"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        choices = segment_choices(clip)
        inputs.enum("segment", choices.values(), label="Repetition", required=True, view=choices)
        _frame_inputs(inputs, clip)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        if not ctx.params.get("segment"):
            raise L.EditError("choose the repetition to adjust")
        return [E.repetition(clip, who, ctx.params.get("start_frame"), ctx.params.get("end_frame"),
                             segment=ctx.params["segment"])]


def _selected_segment(ctx) -> str | None:
    for label in ctx.selected_labels:
        if label.get("field") == "repetitions":
            return label.get("label_id")
    return None


class DeleteRepetition(_EditOperator):
    name, label = "delete_repetition", "delete a repetition"

    def resolve_input(self, ctx):
        inputs = types.Object()
        choices = segment_choices(_clip(ctx))
        inputs.enum("segment", choices.values(), label="Repetition", view=choices, default=_selected_segment(ctx),
                    description="default: the repetition selected in the App")
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        seg = ctx.params.get("segment") or _selected_segment(ctx)
        if not seg:
            raise L.EditError("choose the repetition to delete (or select it in the App)")
        return [E.delete_segment(clip, who, seg)]


class MarkState(_EditOperator):
    name, label = "mark_state", "mark A/R states"

    def resolve_input(self, ctx):
        inputs = types.Object()
        states = types.RadioGroup(orientation="horizontal")
        for value, text in (("A", "A (active)"), ("R", "R (resting)"), ("none", "clear")):
            states.add_choice(value, label=text)
        inputs.enum("state", states.values(), label="State", required=True, view=states)
        _frame_inputs(inputs, _clip(ctx))
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return [E.state(who, ctx.params.get("state"), ctx.params.get("start_frame"), ctx.params.get("end_frame"))]


class AddPenalty(_EditOperator):
    name, label = "add_penalty", "add a penalty"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        action = E.kg_action(ctx.dataset, clip)
        if action:
            steps = types.DropdownView()
            for k in action.get("keysteps", []):
                steps.add_choice(k["id"], label=f"{k['id']}: {k.get('name', '')}")
            inputs.enum("keystep", steps.values(), label="Keystep", view=steps)
            step = ctx.params.get("keystep")
            errors = types.DropdownView()
            for e in action.get("error_types", []):
                if not step or e.get("keystep") in (None, step):
                    errors.add_choice(e["id"], label=f"{e['id']}: {e.get('name', '')}")
            inputs.enum("error_type", errors.values(), label="Error type", required=True, view=errors)
            chosen = next((e for e in action.get("error_types", []) if e["id"] == ctx.params.get("error_type")), {})
            inputs.float("points", label="Points deducted", default=chosen.get("points"))
            inputs.str("feedback", label="Feedback", default=chosen.get("feedback"))
        else:
            inputs.str("keystep", label="Keystep (free text: this dataset has no knowledge graph)")
            inputs.str("error_type", label="Error type", required=True)
            inputs.float("points", label="Points deducted")
            inputs.str("feedback", label="Feedback")
        _frame_inputs(inputs, clip, required=False)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        p = ctx.params
        return [E.penalty(ctx.dataset, clip, who, error_type=p.get("error_type"), keystep=p.get("keystep"),
                          points=p.get("points"), feedback=p.get("feedback"), start=p.get("start_frame"),
                          end=p.get("end_frame"))]


class MovePenalty(_EditOperator):
    name, label = "move_penalty", "move a penalty's frames"

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.str("penalty", label="Penalty id", required=True)
        _frame_inputs(inputs, _clip(ctx))
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return E.move_penalty(clip, who, ctx.params.get("penalty"), ctx.params.get("start_frame"),
                              ctx.params.get("end_frame"))


class DeletePenalty(_EditOperator):
    name, label = "delete_penalty", "delete a penalty"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        choices = types.DropdownView()
        for p in (clip["labels"]["penalties"] if clip else []):
            choices.add_choice(p["id"], label=f"{p.get('keystep') or '-'}/{p['error_type']} ({p.get('annotator')})")
        inputs.enum("penalty", choices.values(), label="Penalty", required=True, view=choices)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return [E.delete_penalty(clip, who, ctx.params.get("penalty"))]


class Suggest(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(name="suggest", label="Gym labels: suggest repetitions and states")

    def execute(self, ctx):
        suggestion = S.suggest(ctx.dataset, sample_id(ctx))
        refresh(ctx)
        return suggestion


class AcceptSuggestions(_EditOperator):
    name, label = "accept_suggestions", "accept the suggestions"

    def resolve_input(self, ctx):
        inputs = types.Object()
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, who):
        return E.accept_suggestions(ctx.dataset, clip, who)


class PanelState(foo.Operator):
    """What the keyboard/timeline panel shows for a sample (reads only; records nothing)."""

    @property
    def config(self):
        return foo.OperatorConfig(name="panel_state", label="Gym labels: read a clip's labels", unlisted=True)

    def execute(self, ctx):
        return {"state": E.safe_panel_state(ctx.dataset, sample_id(ctx), annotator(ctx))}


class NextClip(foo.Operator):
    """Open the next clip of the labelling queue (:mod:`annotators.queue`)."""

    @property
    def config(self):
        return foo.OperatorConfig(name="next_clip", label="Gym labels: next clip to label")

    def execute(self, ctx):
        from annotators.queue import next_clip

        row = next_clip(ctx.dataset, annotator(ctx), ctx.params.get("sample_id") or ctx.current_sample)
        if row is None:
            return {"next": None}
        target = row.get("take_id") or row["sample_id"]  # a take is labelled on its two-view slice
        ctx.trigger("open_sample", {"id": target, "group_id": row["group_id"]})
        return {"next": row["video_id"], "why": row["why"], "sample_id": target}


OPERATORS = (SetCriterion, PassRemaining, SetScore, AddRepetition, EditRepetition, DeleteRepetition, MarkState,
             AddPenalty, MovePenalty, DeletePenalty, Suggest, AcceptSuggestions, PanelState, NextClip)

