"""The labelling plugin: FiftyOne operators and the "Gym labels" panel of the sample view.

Registered by ``annotators/plugin/__init__.py`` (the plugin package FiftyOne loads, installed by
:func:`annotators.app.install_plugin`). Every operator works on the sample open in the App
(``ctx.current_sample``) or the ``sample_id`` param, records the annotator (param ``annotator``,
default ``$GYMDATA_ANNOTATOR`` or the OS user) and goes through :func:`annotators.foapi.apply_edits`.
Frame numbers everywhere a person sees or types them (params, the panel) are the player's, which
counts from 0 like the store and the exports; only FiftyOne's ``TemporalDetection.support`` inside
the dataset is 1-based (FiftyOne's own convention, converted in :func:`annotators.foapi.render`).

Operators (URI ``@gymdata/annotate/<name>``):

=====================  ==========================================================================
``set_criterion``      ``criterion``, ``verdict`` (pass / fail / unsure)
``set_score``          ``score`` 0-100 (``name`` defaults to ``quality``)
``add_repetition``     ``start_frame``, ``end_frame``
``edit_repetition``    ``segment`` (id), ``start_frame``, ``end_frame``
``delete_repetition``  ``segment`` (id), or the repetition selected in the App
``mark_state``         ``state`` (A, R or none), ``start_frame``, ``end_frame``
``add_penalty``        ``keystep``, ``error_type`` (from the knowledge graph when the dataset has
                       one), ``points``, ``feedback``, optional ``start_frame``/``end_frame``
``delete_penalty``     ``penalty`` (id)
``suggest``            run the repetition counter on the clip (:mod:`annotators.suggest`)
``accept_suggestions`` make the suggested repetitions and states the clip's labels
=====================  ==========================================================================

The panel (``gym_labels``, in the sample view) offers all of this with the mouse and keyboard,
shows the clip's labels with who set them and when, and keeps the annotator name for the session.
"""

from __future__ import annotations

from typing import Any

import fiftyone.operators as foo
import fiftyone.operators.types as types

from annotators import adjudicate, foapi, takes
from annotators import labels as L
from annotators import suggest as S
from gymdata.errors import GymdataError

PLUGIN = "@gymdata/annotate"


def _sample_id(ctx) -> str:
    sid = ctx.params.get("sample_id") or ctx.current_sample
    if not sid:
        raise GymdataError("no sample is open", hint="open a clip in the App (or pass sample_id)")
    return sid


def _annotator(ctx) -> str:
    return str(ctx.params.get("annotator") or "").strip() or L.default_annotator()


def _frame(ctx, key: str, *, optional: bool = False) -> int | None:
    """A frame param (the player's number, from 0, as stored)."""
    value = ctx.params.get(key)
    if value in (None, ""):
        if optional:
            return None
        raise L.EditError(f"{key.replace('_', ' ')} is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise L.EditError(f"{key.replace('_', ' ')} {value!r} is not a frame number") from None


def _clip(ctx) -> dict[str, Any] | None:
    """The open clip (for forms); None when no gymdata sample is open."""
    sid = ctx.params.get("sample_id") or ctx.current_sample
    if not sid or ctx.dataset is None:
        return None
    try:
        return foapi.read_clip(ctx.dataset, sid)
    except GymdataError:
        return None


def _kg_action(ctx, clip: dict[str, Any] | None) -> dict[str, Any] | None:
    """The knowledge-graph action of a clip: by the corpus's action id, else by exercise."""
    actions = foapi.gymdata_info(ctx.dataset).get("knowledge_graph") or []
    if not clip or not actions:
        return None
    doc = ctx.dataset._sample_collection.find_one({"_id": clip["_id"]}, {"exercise_raw": 1})
    raw = doc.get("exercise_raw")
    return (next((a for a in actions if a.get("id") == raw), None)
            or next((a for a in actions if a.get("exercise") == clip.get("exercise")), None))


def _common_inputs(inputs: types.Object) -> None:
    inputs.str("annotator", label="Annotator", description="Your name (default: $GYMDATA_ANNOTATOR or the OS user)",
               default=L.default_annotator())


def _refresh(ctx) -> None:
    """Ask the App to redraw the sample's labels (a no-op when run headlessly)."""
    ctx.ops.reload_samples()


class _EditOperator(foo.Operator):
    """An operator that turns its params into edits of the open clip."""

    name = ""
    label = ""

    @property
    def config(self):
        return foo.OperatorConfig(name=self.name, label=f"Gym labels: {self.label}", dynamic=True)

    def edits(self, ctx, clip: dict[str, Any], annotator: str) -> list[dict]:
        raise NotImplementedError

    def execute(self, ctx):
        sid = _sample_id(ctx)
        clip = foapi.read_clip(ctx.dataset, sid)
        result = foapi.apply_edits(ctx.dataset, sid, self.edits(ctx, clip, _annotator(ctx)))
        _refresh(ctx)
        return {"applied": [e["id"] for e in result["applied"]], "rev": result["rev"]}


class SetCriterion(_EditOperator):
    name, label = "set_criterion", "criterion verdict"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        names = foapi.exercise_criteria(ctx.dataset, clip.get("exercise"), clip.get("view")) if clip else []
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

    def edits(self, ctx, clip, annotator):
        return [L.make_edit("criterion", annotator, name=ctx.params.get("criterion"),
                            verdict=ctx.params.get("verdict"), view=clip.get("view"))]


class SetScore(_EditOperator):
    name, label = "set_score", "quality score"

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.float("score", label="Quality score (0-100)", required=True)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, annotator):
        return [L.make_edit("score", annotator, name=ctx.params.get("name") or L.QUALITY,
                            value=ctx.params.get("score"))]


def _frame_inputs(inputs: types.Object, clip: dict[str, Any] | None, *, required: bool = True) -> None:
    n = clip.get("num_frames") if clip else None
    hint = f"0-{n - 1}, as the player counts" if n else "as the player counts, from 0"
    inputs.int("start_frame", label="Start frame", description=hint, required=required)
    inputs.int("end_frame", label="End frame", description=hint, required=required)


def _segment_choices(clip: dict[str, Any] | None, kind: str = "repetition") -> types.DropdownView:
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

    def edits(self, ctx, clip, annotator):
        return [L.make_edit("segment", annotator, kind="repetition", label="rep", start=_frame(ctx, "start_frame"),
                            end=_frame(ctx, "end_frame"))]


class EditRepetition(_EditOperator):
    name, label = "edit_repetition", "adjust a repetition"

    def resolve_input(self, ctx):
        inputs = types.Object()
        clip = _clip(ctx)
        choices = _segment_choices(clip)
        inputs.enum("segment", choices.values(), label="Repetition", required=True, view=choices)
        _frame_inputs(inputs, clip)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, annotator):
        seg = next((s for s in clip["labels"]["segments"] if s["id"] == ctx.params.get("segment")), None)
        if seg is None:
            raise L.EditError(f"no repetition {ctx.params.get('segment')!r} in this clip")
        return [L.make_edit("segment", annotator, segment=seg["id"], kind=seg["kind"], label=seg["label"],
                            start=_frame(ctx, "start_frame"), end=_frame(ctx, "end_frame"))]


def _selected_segment(ctx) -> str | None:
    for label in ctx.selected_labels:
        if label.get("field") == "repetitions":
            return label.get("label_id")
    return None


class DeleteRepetition(_EditOperator):
    name, label = "delete_repetition", "delete a repetition"

    def resolve_input(self, ctx):
        inputs = types.Object()
        choices = _segment_choices(_clip(ctx))
        inputs.enum("segment", choices.values(), label="Repetition", view=choices, default=_selected_segment(ctx),
                    description="default: the repetition selected in the App")
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, annotator):
        seg = ctx.params.get("segment") or _selected_segment(ctx)
        if not seg:
            raise L.EditError("choose the repetition to delete (or select it in the App)")
        return [L.make_edit("segment_delete", annotator, segment=seg)]


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

    def edits(self, ctx, clip, annotator):
        state = ctx.params.get("state")
        return [L.make_edit("state", annotator, label=None if state in (None, "none", "") else state,
                            start=_frame(ctx, "start_frame"), end=_frame(ctx, "end_frame"))]


class AddPenalty(_EditOperator):
    name, label = "add_penalty", "add a penalty"

    def resolve_input(self, ctx):
        inputs = types.Object()
        action = _kg_action(ctx, _clip(ctx))
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
        _frame_inputs(inputs, _clip(ctx), required=False)
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, annotator):
        action = _kg_action(ctx, clip)
        error_type = ctx.params.get("error_type")
        points, feedback = ctx.params.get("points"), ctx.params.get("feedback")
        if action:
            known = {e["id"]: e for e in action.get("error_types", [])}
            if error_type not in known:
                raise L.EditError(f"error type {error_type!r} is not in the knowledge graph of {action.get('id')}",
                                  hint=f"error types: {', '.join(known) or 'none'}")
            steps = {k["id"] for k in action.get("keysteps", [])}
            if ctx.params.get("keystep") and ctx.params["keystep"] not in steps:
                raise L.EditError(f"keystep {ctx.params['keystep']!r} is not in the knowledge graph of "
                                  f"{action.get('id')}")
            points = known[error_type].get("points") if points in (None, "") else points
            feedback = feedback or known[error_type].get("feedback")
        return [L.make_edit("penalty", annotator, keystep=ctx.params.get("keystep") or None, error_type=error_type,
                            points=None if points in (None, "") else points, feedback=feedback or None,
                            start=_frame(ctx, "start_frame", optional=True),
                            end=_frame(ctx, "end_frame", optional=True))]


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

    def edits(self, ctx, clip, annotator):
        return [L.make_edit("penalty_delete", annotator, penalty=ctx.params.get("penalty"))]


class Suggest(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(name="suggest", label="Gym labels: suggest repetitions and states")

    def execute(self, ctx):
        suggestion = S.suggest(ctx.dataset, _sample_id(ctx))
        _refresh(ctx)
        return suggestion


class AcceptSuggestions(_EditOperator):
    name, label = "accept_suggestions", "accept the suggestions"

    def resolve_input(self, ctx):
        inputs = types.Object()
        _common_inputs(inputs)
        return types.Property(inputs)

    def edits(self, ctx, clip, annotator):
        doc = ctx.dataset._sample_collection.find_one({"_id": clip["_id"]}, {"suggestion": 1})
        return S.accept_edits(clip["labels"], doc.get("suggestion"), annotator)


OPERATORS = (SetCriterion, SetScore, AddRepetition, EditRepetition, DeleteRepetition, MarkState, AddPenalty,
             DeletePenalty, Suggest, AcceptSuggestions)


# -- the panel -----------------------------------------------------------------------------------------


def _when(at: str | None) -> str:
    return at[:19].replace("T", " ") if at else "-"


class GymLabelsPanel(foo.Panel):
    """Label the open clip: criteria, score, repetitions, A/R states, penalties, suggestions, history."""

    @property
    def config(self):
        return foo.PanelConfig(name="gym_labels", label="Gym labels", surfaces="modal", icon="fitness_center",
                               help_markdown="Label the open clip. Frame numbers are the player's (from 0).")

    # events

    # Only deliberate edits are recorded. Every form field's name ends with the id of the sample it
    # was drawn for (``crit_0__<id>``), so nothing typed or shown for one clip is carried to another,
    # and a change event is checked before it becomes an edit: one that names another sample than
    # the one shown (an event from the previous clip, arriving after navigation) or that only repeats
    # the label shown (the App echoes values the panel sets when it loads a clip) records nothing.

    def on_load(self, ctx):
        ctx.panel.set_state("annotator", ctx.panel.get_state("annotator") or L.default_annotator())
        self._load(ctx)

    def on_change_current_sample(self, ctx):
        self._load(ctx)

    def on_change_group_slice(self, ctx):
        self._load(ctx)

    def on_view(self, ctx):
        """The view to label was chosen in the panel: show (and edit) that view's clip."""
        self._load(ctx)

    def _shown(self, ctx) -> str:
        """The id of the sample the panel shows and edits: the open sample, or the view chosen for its take."""
        sid = _sample_id(ctx)
        doc = ctx.dataset._sample_collection.find_one({"_id": foapi._oid(str(sid))}, {"group": 1})
        group = (doc or {}).get("group") or {}
        wanted = ctx.panel.get_state(f"view__{group.get('_id')}") if group else None
        if group.get("name") == takes.TAKE_SLICE and wanted in (None, takes.TAKE_SLICE):
            wanted = takes.TAKE_VIEWS[0]  # 16b stop-gap until the panel edits takes (takes.apply_edits)
        if wanted and wanted != group.get("name"):
            other = ctx.dataset._sample_collection.find_one({"group._id": group["_id"], "group.name": wanted},
                                                            {"_id": 1})
            if other:
                return str(other["_id"])
        return str(sid)

    def _views(self, ctx, sid: str) -> tuple[str | None, list[str]]:
        """(group id, slice names) of a sample's take; (None, []) outside groups."""
        coll = ctx.dataset._sample_collection
        doc = coll.find_one({"_id": foapi._oid(sid)}, {"group": 1})
        group = (doc or {}).get("group")
        if not group:
            return None, []
        names = sorted(d["group"]["name"] for d in coll.find({"group._id": group["_id"]}, {"group.name": 1}))
        return str(group["_id"]), names

    def _open(self, ctx) -> dict[str, Any] | None:
        """The clip the panel shows (None when no gymdata sample is open)."""
        if not (ctx.params.get("sample_id") or ctx.current_sample) or ctx.dataset is None:
            return None
        try:
            return foapi.read_clip(ctx.dataset, self._shown(ctx))
        except GymdataError:
            return None

    @staticmethod
    def _key(clip: dict[str, Any], name: str) -> str:
        return f"{name}__{clip['_id']}"

    def _load(self, ctx, message: str | None = None) -> None:
        """Set the form of the clip shown to its current labels (keys of this clip only)."""
        clip = self._open(ctx)
        state: dict[str, Any] = {"message": message or ""}
        if clip:
            for i, name in enumerate(self._criteria(ctx, clip)):
                c = clip["labels"]["criteria"].get(name)
                state[self._key(clip, f"crit_{i}")] = c["verdict"] if c else None
            score = clip["labels"]["scores"].get(L.QUALITY)
            state[self._key(clip, "score_row")] = {"score": score["value"] if score else None}
        for key, value in state.items():
            ctx.panel.set_state(key, value)

    @staticmethod
    def _criteria(ctx, clip) -> list[str]:
        return foapi.exercise_criteria(ctx.dataset, clip.get("exercise"), clip.get("view"))

    def _edit(self, ctx, make) -> None:
        """Build edits with ``make(clip, annotator)``, apply them, reload, report."""
        try:
            sid = self._shown(ctx)
            clip = foapi.read_clip(ctx.dataset, sid)
            annotator = str(ctx.panel.get_state("annotator") or "").strip() or L.default_annotator()
            result = foapi.apply_edits(ctx.dataset, sid, make(clip, annotator))
            n = len(result["applied"])
            message = f"saved {n} edit(s) as {annotator}" if n else "nothing changed"
        except GymdataError as exc:
            message = f"error: {exc}"
            ctx.ops.notify(str(exc), variant="error")
        self._load(ctx, message)
        _refresh(ctx)

    def _get(self, ctx, clip: dict[str, Any], key: str) -> Any:
        """A form value of the clip shown (``row.field``: the row's name is per clip)."""
        row, _, rest = key.partition(".")
        return ctx.panel.get_state(self._key(clip, row) + (f".{rest}" if rest else ""))

    def _int(self, ctx, clip: dict[str, Any], key: str) -> int:
        value = self._get(ctx, clip, key)
        if value in (None, ""):
            raise L.EditError(f"{key.rsplit('_', 1)[-1]} frame is missing")
        return int(value)

    def on_criterion(self, ctx):
        path = str(ctx.params.get("path", ""))
        head, _, drawn_for = path.rpartition("__")
        verdict = ctx.params.get("value")
        sid = self._shown(ctx)
        if drawn_for != sid or verdict not in L.VERDICTS:
            return  # an event of another clip's form (late, after navigation) or a cleared radio: not an edit
        clip = foapi.read_clip(ctx.dataset, sid)
        names = self._criteria(ctx, clip)
        index = int(head.rsplit("_", 1)[-1])
        if not 0 <= index < len(names):
            return
        shown = clip["labels"]["criteria"].get(names[index])
        if shown and shown["verdict"] == verdict:
            return  # the value already shown (the App echoing what the panel set on load): nothing changed

        def make(clip, who):
            return [L.make_edit("criterion", who, name=names[index], verdict=verdict, view=clip.get("view"))]

        self._edit(ctx, make)

    def on_score(self, ctx):
        self._edit(ctx, lambda clip, who: [L.make_edit("score", who, name=L.QUALITY,
                                                        value=self._get(ctx, clip, "score_row.score"))])

    def on_add_rep(self, ctx):
        self._edit(ctx, lambda clip, who: [L.make_edit("segment", who, kind="repetition", label="rep",
                                                        start=self._int(ctx, clip, "rep_add.rep_start"),
                                                        end=self._int(ctx, clip, "rep_add.rep_end"))])

    def on_adjust_rep(self, ctx):
        def make(clip, who):
            wanted = self._get(ctx, clip, "rep_adj.adj_segment")
            seg = next((s for s in clip["labels"]["segments"] if s["id"] == wanted), None)
            if seg is None:
                raise L.EditError("choose the repetition to adjust")
            return [L.make_edit("segment", who, segment=seg["id"], kind=seg["kind"], label=seg["label"],
                                start=self._int(ctx, clip, "rep_adj.adj_start"),
                                end=self._int(ctx, clip, "rep_adj.adj_end"))]

        self._edit(ctx, make)

    def on_delete_rep(self, ctx):
        def make(clip, who):
            reps = [s for s in clip["labels"]["segments"] if s["kind"] == "repetition"]
            row = int(ctx.params.get("row", -1))
            if not 0 <= row < len(reps):
                raise L.EditError("that repetition is gone (someone else deleted it?)")
            return [L.make_edit("segment_delete", who, segment=reps[row]["id"])]

        self._edit(ctx, make)

    def on_mark_state(self, ctx):
        def make(clip, who):
            state = self._get(ctx, clip, "state_row.st_label") or "A"
            return [L.make_edit("state", who, label=None if state == "none" else state,
                                start=self._int(ctx, clip, "state_row.st_start"),
                                end=self._int(ctx, clip, "state_row.st_end"))]

        self._edit(ctx, make)

    def on_add_penalty(self, ctx):
        def make(clip, who):
            action = _kg_action(ctx, clip)
            error = self._get(ctx, clip, "pen_row.pen_error")
            known = {e["id"]: e for e in (action or {}).get("error_types", [])}
            points = self._get(ctx, clip, "pen_row.pen_points")
            feedback = self._get(ctx, clip, "pen_row.pen_feedback")
            if error in known:
                points = known[error].get("points") if points in (None, "") else points
                feedback = feedback or known[error].get("feedback")
            start = self._get(ctx, clip, "pen_where.pen_start")
            keystep = self._get(ctx, clip, "pen_row.pen_keystep") or None
            return [L.make_edit("penalty", who, keystep=keystep, error_type=error,
                                points=None if points in (None, "") else points, feedback=feedback or None,
                                start=None if start in (None, "") else self._int(ctx, clip, "pen_where.pen_start"),
                                end=None if start in (None, "") else self._int(ctx, clip, "pen_where.pen_end"))]

        self._edit(ctx, make)

    def on_delete_penalty(self, ctx):
        def make(clip, who):
            pens = clip["labels"]["penalties"]
            row = int(ctx.params.get("row", -1))
            if not 0 <= row < len(pens):
                raise L.EditError("that penalty is gone (someone else deleted it?)")
            return [L.make_edit("penalty_delete", who, penalty=pens[row]["id"])]

        self._edit(ctx, make)

    def on_next(self, ctx):
        """Open the next clip of the labelling queue (:mod:`annotators.queue`)."""
        from annotators.queue import next_clip

        who = str(ctx.panel.get_state("annotator") or "").strip() or L.default_annotator()
        row = next_clip(ctx.dataset, who, self._shown(ctx))
        if row is None:
            self._load(ctx, "no other clip in this dataset")
            return
        ctx.trigger("open_sample", {"id": row["sample_id"], "group_id": row["group_id"]})
        ctx.panel.set_state("message", f"next: {row['video_id']} ({row['why']})")

    def on_pick(self, ctx):
        """A choice that changes the form (a keystep narrows the error types): just render again."""

    def on_suggest(self, ctx):
        try:
            s = S.suggest(ctx.dataset, self._shown(ctx))
            message = f"{s['counter']} suggests {s['count']} repetition(s): review them, then accept or correct"
        except GymdataError as exc:
            message = f"error: {exc}"
            ctx.ops.notify(str(exc), variant="error")
        self._load(ctx, message)
        _refresh(ctx)

    def on_accept(self, ctx):
        def make(clip, who):
            doc = ctx.dataset._sample_collection.find_one({"_id": clip["_id"]}, {"suggestion": 1})
            return S.accept_edits(clip["labels"], doc.get("suggestion"), who)

        self._edit(ctx, make)

    # layout

    def render(self, ctx):
        panel = types.Object()
        clip = self._open(ctx)
        if clip is None:
            panel.md("Open a clip of a dataset pushed by `gymdata fiftyone push` to label it.", name="intro")
            return types.Property(panel, view=types.GridView(orientation="vertical"))
        labels = clip["labels"]
        n = clip.get("num_frames")
        tables: dict[str, list] = {}
        k = lambda name: self._key(clip, name)  # noqa: E731 (every form field is this clip's own)
        panel.md(f"#### {clip['video_id']}\n{clip.get('exercise')} · {clip.get('view') or 'no view'} · "
                 f"{n} frames (numbered from 0, as in the player)", name="title")
        group_id, views = self._views(ctx, str(clip["_id"]))
        if len(views) > 1:
            # the App does not tell plugins which view its carousel shows: the panel names the view it edits
            choice = types.RadioGroup(orientation="horizontal")
            for v in views:
                choice.add_choice(v, label=v)
            panel.enum(f"view__{group_id}", choice.values(), label="View labelled here", view=choice,
                       default=clip.get("view") if clip.get("view") in views else None, on_change=self.on_view)
        if ctx.panel.get_state("message"):
            panel.md(f"**{ctx.panel.get_state('message')}**", name="message_text")
        panel.btn("next_btn", label="Next clip to label", on_click=self.on_next,
                  description="unlabelled by you first, then where annotators disagree, then where the counter is "
                              "least sure")
        who = str(ctx.panel.get_state("annotator") or "").strip() or L.default_annotator()
        panel.str("annotator", label=f"Annotator for this session (edits are recorded as: {who})", default=who)

        panel.md("##### Criteria", name="h_criteria")
        names = self._criteria(ctx, clip)
        if not names:
            panel.md("_No criteria for this exercise in the dataset._", name="no_criteria")
        for i, name in enumerate(names):
            c = labels["criteria"].get(name)
            radio = types.RadioGroup(orientation="horizontal")
            for v in L.VERDICTS:
                radio.add_choice(v, label=v)
            who = f" — {c['verdict']} by {c.get('annotator')} ({c.get('origin')}, {_when(c.get('at'))})" if c else ""
            panel.enum(k(f"crit_{i}"), radio.values(), label=f"{name}{who}", view=radio, on_change=self.on_criterion)

        panel.md("##### Quality score (0-100)", name="h_score")
        score = labels["scores"].get(L.QUALITY)
        row = panel.h_stack(k("score_row"), align_y="center")
        row.float("score", label="Score" + (f" (now {score['value']:g} by {score.get('annotator')})" if score else ""))
        row.btn("score_btn", label="Set score", on_click=self.on_score)

        panel.md("##### Repetitions", name="h_reps")
        reps = [s for s in labels["segments"] if s["kind"] == "repetition"]
        if reps:
            table = types.TableView()
            for key, text in (("n", "#"), ("frames", "frames"), ("annotator", "by"), ("origin", "origin"),
                              ("at", "when")):
                table.add_column(key, label=text)
            table.add_row_action("delete", self.on_delete_rep, label="Delete", icon="delete")
            tables["reps_table"] = [{"n": i + 1, "frames": f"{s['start']}-{s['end']}",
                                     "annotator": s.get("annotator"), "origin": s.get("origin"),
                                     "at": _when(s.get("at"))} for i, s in enumerate(reps)]
            panel.list("reps_table", types.Object(), view=table)
        add = panel.h_stack(k("rep_add"), align_y="center")
        add.int("rep_start", label="Start frame")
        add.int("rep_end", label="End frame")
        add.btn("rep_btn", label="Add repetition", on_click=self.on_add_rep)
        if reps:
            adj = panel.h_stack(k("rep_adj"), align_y="center")
            choices = _segment_choices(clip)
            adj.enum("adj_segment", choices.values(), label="Repetition", view=choices)
            adj.int("adj_start", label="New start")
            adj.int("adj_end", label="New end")
            adj.btn("adj_btn", label="Adjust", on_click=self.on_adjust_rep)

        panel.md("##### A/R states", name="h_states")
        runs = L.state_runs(labels["segments"])
        panel.md(", ".join(f"{r['label']} {r['start']}-{r['end']}" for r in runs) or "_none marked_",
                 name="states_text")
        st = panel.h_stack(k("state_row"), align_y="center")
        radio = types.RadioGroup(orientation="horizontal")
        for value, text in (("A", "A"), ("R", "R"), ("none", "clear")):
            radio.add_choice(value, label=text)
        st.enum("st_label", radio.values(), label="State", view=radio, default="A")
        st.int("st_start", label="Start frame")
        st.int("st_end", label="End frame")
        st.btn("st_btn", label="Mark", on_click=self.on_mark_state)

        self._render_penalties(ctx, panel, clip, tables)

        panel.md("##### Suggestions", name="h_suggest")
        doc = ctx.dataset._sample_collection.find_one({"_id": clip["_id"]}, {"suggestion": 1})
        sug = doc.get("suggestion")
        if sug:
            panel.md(f"{sug['counter']} ({_when(sug.get('at'))}): {sug['count']} repetition(s) "
                     + ", ".join(f"{a}-{b}" for a, b in sug["reps"]), name="suggest_text")
        sg = panel.h_stack("suggest_row")
        sg.btn("suggest_btn", label="Suggest repetitions and states", on_click=self.on_suggest)
        if sug:
            sg.btn("accept_btn", label="Accept suggestions", on_click=self.on_accept)

        panel.md("##### History (who labelled what and when)", name="h_history")
        log = ctx.dataset._sample_collection.find_one({"_id": clip["_id"]}, {"gymdata_log": 1}).get("gymdata_log") or []
        history = types.TableView()
        for key, text in (("at", "when (UTC)"), ("annotator", "who"), ("what", "what")):
            history.add_column(key, label=text)
        tables["history"] = [{"at": _when(e["at"]), "annotator": e["annotator"], "what": L.describe_edit(e)}
                             for e in reversed(log[-50:])]
        # replace the panel's data as a whole: patching would keep rows of longer, older tables
        ctx.ops.set_panel_data(tables)
        panel.list("history", types.Object(), view=history)
        return types.Property(panel, view=types.GridView(orientation="vertical", gap=1))

    def _render_penalties(self, ctx, panel: types.Object, clip: dict[str, Any], tables: dict[str, list]) -> None:
        panel.md("##### Penalties", name="h_pen")
        pens = clip["labels"]["penalties"]
        if pens:
            table = types.TableView()
            for key, text in (("keystep", "keystep"), ("error_type", "error"), ("points", "points"),
                              ("feedback", "feedback"), ("annotator", "by")):
                table.add_column(key, label=text)
            table.add_row_action("delete", self.on_delete_penalty, label="Delete", icon="delete")
            tables["pen_table"] = [{k: p.get(k) for k in ("keystep", "error_type", "points", "feedback", "annotator")}
                                   for p in pens]
            panel.list("pen_table", types.Object(), view=table)
        action = _kg_action(ctx, clip)
        row = panel.h_stack(self._key(clip, "pen_row"), align_y="center")
        if action:
            steps = types.DropdownView()
            for k in action.get("keysteps", []):
                steps.add_choice(k["id"], label=f"{k['id']}: {k.get('name', '')}")
            row.enum("pen_keystep", steps.values(), label="Keystep", view=steps, on_change=self.on_pick)
            step = self._get(ctx, clip, "pen_row.pen_keystep")
            errors = types.DropdownView()
            for e in action.get("error_types", []):
                if not step or e.get("keystep") in (None, step):
                    errors.add_choice(e["id"], label=f"{e['id']}: {e.get('name', '')} (-{e.get('points', 0):g})")
            row.enum("pen_error", errors.values(), label="Error type", view=errors)
        else:
            row.str("pen_keystep", label="Keystep")
            row.str("pen_error", label="Error type")
        row.float("pen_points", label="Points")
        row.str("pen_feedback", label="Feedback")
        where = panel.h_stack(self._key(clip, "pen_where"), align_y="center")
        where.int("pen_start", label="From frame (optional)")
        where.int("pen_end", label="To frame")
        where.btn("pen_btn", label="Add penalty", on_click=self.on_add_penalty)


def register(plugin) -> None:
    """Register the operators and the panel with FiftyOne (called by the plugin package)."""
    for cls in (*OPERATORS, GymLabelsPanel):
        plugin.register(cls)
    adjudicate.register(plugin)  # 16b: the adjudication operator
