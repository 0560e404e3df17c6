"""The "Gym labels" panel of the App's sample view (Python): a form for every kind of label of the
clip shown, its history, suggestions and the labelling queue.

Its edits are built by :mod:`annotators.editing`, like the operators' (:mod:`annotators.operators`).
The keyboard-first panel with the timeline is the JS one (``annotators/plugin/js``, "Gym keys").
"""

from __future__ import annotations

from typing import Any

import fiftyone.operators as foo
import fiftyone.operators.types as types
from bson import ObjectId

from annotators import editing as E
from annotators import foapi, takes
from annotators import labels as L
from annotators import suggest as S
from annotators.operators import refresh, sample_id, segment_choices
from gymdata.errors import GymdataError


def _when(at: str | None) -> str:
    return at[:19].replace("T", " ") if at else "-"


def _row(ctx, items: list[dict], what: str) -> dict:
    """The item of the table row the panel's button was on (``ctx.params["row"]``)."""
    row = int(ctx.params.get("row", -1))
    if not 0 <= row < len(items):
        raise L.EditError(f"that {what} is gone (someone else deleted it?)")
    return items[row]


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
        self._follow_app(ctx)
        self._load(ctx)

    def on_change_group_slice(self, ctx):
        self._load(ctx)

    def on_view(self, ctx):
        """The view to label was chosen in the panel: show (and edit) that view's clip."""
        self._load(ctx)

    def on_app_shown(self, ctx):
        """The App shows another sample or view (reported by the bundle's ``GymSliceFollower``
        component: a carousel click, V in the Gym keys panel, navigation): show and edit that view's clip."""
        if isinstance(ctx.params.get("value"), dict):
            ctx.panel.set_state("app_shown", ctx.params["value"])
        self._follow_app(ctx)
        self._load(ctx)

    @staticmethod
    def _reported(ctx) -> dict[str, Any]:
        """What the App shows, as the ``GymSliceFollower`` component last reported it:
        ``{"slice": group slice or None, "sample": id of the modal's sample}`` (``{}`` before any report)."""
        shown = ctx.panel.get_state("app_shown")
        return shown if isinstance(shown, dict) else {}

    def _opened(self, ctx) -> str | None:
        """The id of the sample the App opened: the App's context, or the component's report when the
        panel was loaded before the App told it (right after a reload)."""
        sid = ctx.params.get("sample_id") or ctx.current_sample
        if not sid:
            sid = self._reported(ctx).get("sample")
            if not (isinstance(sid, str) and ObjectId.is_valid(sid)):
                return None
        return str(sid)

    def _follow_app(self, ctx) -> None:
        """Make the form show the view the App shows.

        Python panels hear of the modal's sample (a take's group sample) but not of the view its
        carousel shows: the ``GymSliceFollower`` component reports that slice. While the App shows the
        take slice (both views at once) the panel's own choice of view counts; a view slice the App
        shows is the view the form shows and edits."""
        sid = self._opened(ctx)
        if not sid or ctx.dataset is None:
            return
        coll = ctx.dataset._sample_collection
        group = ((coll.find_one({"_id": foapi._oid(sid)}, {"group": 1}) or {}).get("group")) or {}
        if not group.get("name"):
            return
        view = self._reported(ctx).get("slice") or group["name"]  # no report: the slice the App opened
        if view != takes.TAKE_SLICE and coll.find_one({"group._id": group["_id"], "group.name": view}, {"_id": 1}):
            ctx.panel.set_state(f"view__{group['_id']}", view)

    def _shown(self, ctx) -> str:
        """The id of the sample the panel shows and edits: the open sample, or the view chosen for its take."""
        sid = self._opened(ctx) or sample_id(ctx)  # (sample_id raises: no sample is open)
        doc = ctx.dataset._sample_collection.find_one({"_id": foapi._oid(sid)}, {"group": 1})
        group = (doc or {}).get("group") or {}
        wanted = ctx.panel.get_state(f"view__{group.get('_id')}") if group else None
        if group.get("name") == takes.TAKE_SLICE and wanted in (None, takes.TAKE_SLICE):
            wanted = takes.TAKE_VIEWS[0]  # this form panel edits one view clip; takes are labelled in Gym keys
        if wanted and wanted != group.get("name"):
            other = ctx.dataset._sample_collection.find_one({"group._id": group["_id"], "group.name": wanted},
                                                            {"_id": 1})
            if other:
                return str(other["_id"])
        return sid

    def _views(self, ctx, sid: str) -> tuple[str | None, list[str]]:
        """(group id, slice names) of a sample's take; (None, []) outside groups."""
        coll = ctx.dataset._sample_collection
        doc = coll.find_one({"_id": foapi._oid(sid)}, {"group": 1})
        group = (doc or {}).get("group")
        if not group:
            return None, []
        names = sorted(d["group"]["name"] for d in coll.find({"group._id": group["_id"]}, {"group.name": 1})
                       if d["group"]["name"] != takes.TAKE_SLICE)  # the take: labelled in the Gym keys panel
        return str(group["_id"]), names

    def _open(self, ctx) -> dict[str, Any] | None:
        """The clip the panel shows (None when no gymdata sample is open)."""
        if ctx.dataset is None or not self._opened(ctx):
            return None
        try:
            return E.read(ctx.dataset, self._shown(ctx))
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
        return [name for name, _ in E.criteria(ctx.dataset, clip)]

    def _edit(self, ctx, make) -> None:
        """Build edits with ``make(clip, annotator)``, apply them, reload, report."""
        try:
            sid = self._shown(ctx)
            clip = E.read(ctx.dataset, sid)
            annotator = str(ctx.panel.get_state("annotator") or "").strip() or L.default_annotator()
            n = len(E.apply(ctx.dataset, sid, make(clip, annotator)))
            message = f"saved {n} edit(s) as {annotator}" if n else "nothing changed"
        except GymdataError as exc:
            message = f"error: {exc}"
            ctx.ops.notify(str(exc), variant="error")
        self._load(ctx, message)
        refresh(ctx)

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
        clip = E.read(ctx.dataset, sid)
        names = self._criteria(ctx, clip)
        index = int(head.rsplit("_", 1)[-1])
        if not 0 <= index < len(names):
            return
        shown = clip["labels"]["criteria"].get(names[index])
        if shown and shown["verdict"] == verdict:
            return  # the value already shown (the App echoing what the panel set on load): nothing changed

        def make(clip, who):
            return [E.criterion(clip, who, names[index], verdict)]

        self._edit(ctx, make)

    def on_score(self, ctx):
        self._edit(ctx, lambda clip, who: [E.score(who, self._get(ctx, clip, "score_row.score"))])

    def on_add_rep(self, ctx):
        self._edit(ctx, lambda clip, who: [E.repetition(clip, who, self._int(ctx, clip, "rep_add.rep_start"),
                                                        self._int(ctx, clip, "rep_add.rep_end"))])

    def on_adjust_rep(self, ctx):
        def make(clip, who):
            wanted = self._get(ctx, clip, "rep_adj.adj_segment")
            if not wanted:
                raise L.EditError("choose the repetition to adjust")
            return [E.repetition(clip, who, self._int(ctx, clip, "rep_adj.adj_start"),
                                 self._int(ctx, clip, "rep_adj.adj_end"), segment=wanted)]

        self._edit(ctx, make)

    def on_delete_rep(self, ctx):
        def make(clip, who):
            reps = [s for s in clip["labels"]["segments"] if s["kind"] == "repetition"]
            return [E.delete_segment(clip, who, _row(ctx, reps, "repetition")["id"])]

        self._edit(ctx, make)

    def on_mark_state(self, ctx):
        def make(clip, who):
            return [E.state(who, self._get(ctx, clip, "state_row.st_label") or "A",
                            self._int(ctx, clip, "state_row.st_start"), self._int(ctx, clip, "state_row.st_end"))]

        self._edit(ctx, make)

    def on_add_penalty(self, ctx):
        def make(clip, who):
            start = self._get(ctx, clip, "pen_where.pen_start")
            return [E.penalty(ctx.dataset, clip, who, error_type=self._get(ctx, clip, "pen_row.pen_error"),
                              keystep=self._get(ctx, clip, "pen_row.pen_keystep"),
                              points=self._get(ctx, clip, "pen_row.pen_points"),
                              feedback=self._get(ctx, clip, "pen_row.pen_feedback"),
                              start=None if start in (None, "") else self._int(ctx, clip, "pen_where.pen_start"),
                              end=None if start in (None, "") else self._int(ctx, clip, "pen_where.pen_end"))]

        self._edit(ctx, make)

    def on_delete_penalty(self, ctx):
        def make(clip, who):
            return [E.delete_penalty(clip, who, _row(ctx, clip["labels"]["penalties"], "penalty")["id"])]

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
        refresh(ctx)

    def on_accept(self, ctx):
        def make(clip, who):
            return E.accept_suggestions(ctx.dataset, clip, who)

        self._edit(ctx, make)

    # layout

    def render(self, ctx):
        panel = types.Object()
        # what the App shows is reported by a component of the JS bundle (it draws nothing): the view of
        # a take its carousel shows, and the sample when the panel loaded before the App told it
        panel.define_property("app_shown", types.Object(), on_change=self.on_app_shown,
                              view=types.View(component="GymSliceFollower", composite_view=True))
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
            # the radio names the view edited; it follows the App's view, and chooses while the App shows the take
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
            choices = segment_choices(clip)
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
        action = E.kg_action(ctx.dataset, clip)
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
