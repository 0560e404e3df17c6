// "Gym keys": keyboard-first labelling of the clip (or two-view take) open in the App's sample view.
//
// The panel has its own player of the sample's video (a FiftyOne panel tab replaces the App's player,
// so the panel reads and seeks its own <video>: the frame shown is floor(time x fps), from 0 like the
// store) and a timeline (Timeline.jsx). It follows the view the App shows (the modal's group slice):
// switching the view in the carousel or with V makes the panel show and edit that view's sample.
//
// Only deliberate actions write: every edit is one call of a Python operator (ops.js) made by a key,
// a click on a control or a drag; loading, navigating, switching views and reloading only read.
import React from "react";
import { useRecoilValue, useSetRecoilState } from "recoil";
import * as fos from "@fiftyone/state";
import { call } from "./ops";
import { KEYMAP } from "./keys";
import Timeline from "./Timeline";

const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
const VERDICT_KEYS = { p: "pass", f: "fail", u: "unsure" };
const VERDICT_COLORS = { pass: "#3a9a4a", fail: "#c83c3c", unsure: "#c8a03c" };

function isTyping(target) {
  const tag = (target && target.tagName) || "";
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
}

function mediaUrl(sample) {
  const urls = (sample && sample.urls) || [];
  const path = (urls.find((u) => u.field === "filepath") || urls[0] || {}).url || sample?.sample?.filepath;
  return path ? fos.getSampleSrc(path) : null;
}

export default function GymKeys() {
  const modal = useRecoilValue(fos.modalSample);
  const slice = useRecoilValue(fos.modalGroupSlice);
  const slices = useRecoilValue(fos.groupSlices);
  const setSlice = useSetRecoilState(fos.modalGroupSlice);
  const sampleId = modal?.sample?._id || modal?.id || null;
  const fps = modal?.frameRate || modal?.sample?.metadata?.frame_rate || 25;
  const src = mediaUrl(modal);

  const video = React.useRef(null);
  const scoreBox = React.useRef(null);
  const penaltyBox = React.useRef(null);
  const [state, setState] = React.useState(null);
  const [frame, setFrame] = React.useState(0);
  const [playing, setPlaying] = React.useState(false);
  const [speed, setSpeed] = React.useState(1);
  const [busy, setBusy] = React.useState(0);
  const [message, setMessage] = React.useState("");
  const [crit, setCrit] = React.useState(0);
  const [selected, setSelected] = React.useState(null); // {track, id}
  const [inPoint, setInPoint] = React.useState(null);
  const [paint, setPaint] = React.useState(null); // {label, lo, hi}
  const [prompt, setPrompt] = React.useState(null); // {kind: "score"} | {kind: "penalty", start, end}
  const live = React.useRef({});
  const n = (state && state.num_frames) || 0;

  // -- reading (never writes) ----------------------------------------------------------------------
  React.useEffect(() => {
    let stale = false;
    setState(null);
    setSelected(null);
    setInPoint(null);
    setPrompt(null);
    setCrit(0);
    setMessage("");
    if (!sampleId) return undefined;
    call("panel_state", { sample_id: sampleId })
      .then((r) => { if (!stale) setState(r.state || null); })
      .catch((e) => { if (!stale) setMessage(`error: ${e.message}`); });
    return () => { stale = true; };
  }, [sampleId]);

  const frameNow = React.useCallback(() => {
    const v = video.current;
    if (!v) return 0;
    const f = Math.floor(v.currentTime * fps + 1e-3);
    return Math.max(0, Math.min((n || 1) - 1, f));
  }, [fps, n]);

  // the frame shown: the video's presented frame while playing (requestVideoFrameCallback), else its time
  React.useEffect(() => {
    const v = video.current;
    if (!v) return undefined;
    let handle = null;
    let raf = null;
    const tick = (now, meta) => {
      const t = meta && typeof meta.mediaTime === "number" ? meta.mediaTime : v.currentTime;
      const f = Math.max(0, Math.min((n || 1) - 1, Math.floor(t * fps + 1e-3)));
      live.current.frame = f;
      setFrame(f);
      const p = live.current.paint;
      if (p) {
        const next = { ...p, lo: Math.min(p.lo, f), hi: Math.max(p.hi, f) };
        live.current.paint = next;
        setPaint(next);
      }
      schedule();
    };
    const schedule = () => {
      if (v.requestVideoFrameCallback) handle = v.requestVideoFrameCallback(tick);
      else raf = requestAnimationFrame(() => tick(0, null));
    };
    schedule();
    const onPlay = () => setPlaying(true);
    const onPause = () => setPlaying(false);
    const onSeeked = () => tick(0, null);
    v.addEventListener("play", onPlay);
    v.addEventListener("pause", onPause);
    v.addEventListener("seeked", onSeeked);
    return () => {
      if (handle !== null && v.cancelVideoFrameCallback) v.cancelVideoFrameCallback(handle);
      if (raf !== null) cancelAnimationFrame(raf);
      v.removeEventListener("play", onPlay);
      v.removeEventListener("pause", onPause);
      v.removeEventListener("seeked", onSeeked);
    };
  }, [src, fps, n]);

  const seek = React.useCallback((f) => {
    const v = video.current;
    if (!v || !n) return;
    const target = Math.max(0, Math.min(n - 1, f));
    v.currentTime = (target + 0.5) / fps;
    live.current.frame = target;
    setFrame(target);
  }, [fps, n]);

  // -- writing: one operator call per deliberate action -------------------------------------------
  const edit = React.useCallback((name, params, done) => {
    if (!state) return;
    setBusy((b) => b + 1);
    call(name, { ...params, sample_id: state.sample_id, with_state: true })
      .then((r) => {
        if (r.state) setState(r.state);
        const k = (r.applied || []).length;
        setMessage(k ? `saved ${k} edit(s) as ${(r.state && r.state.annotator) || "you"}` : "nothing changed");
        if (done) done(r);
      })
      .catch((e) => setMessage(`error: ${e.message}`))
      .finally(() => setBusy((b) => b - 1));
  }, [state]);

  const repAt = (f) => state && state.repetitions.find((r) => r.start <= f && f <= r.end);
  const selectedRep = () => {
    if (!state) return null;
    if (selected && selected.track === "reps") return state.repetitions.find((r) => r.id === selected.id) || null;
    return null;
  };

  const setVerdict = (verdict) => {
    const c = state && state.criteria[crit];
    if (!c) return;
    edit("set_criterion", { criterion: c.name, verdict });
    setCrit((i) => Math.min(i + 1, state.criteria.length - 1));
  };

  const onMove = (d) => {
    if (d.track === "reps") edit("edit_repetition", { segment: d.id, start_frame: d.start, end_frame: d.end });
    else if (d.track === "penalties") edit("move_penalty", { penalty: d.id, start_frame: d.start, end_frame: d.end });
    else if (d.track === "states") {
      // an edge of an A/R run moved: frames it gained get its state, frames it lost are cleared
      if (d.start < d.origStart) edit("mark_state", { state: d.label, start_frame: d.start, end_frame: d.origStart - 1 });
      else if (d.start > d.origStart) edit("mark_state", { state: "none", start_frame: d.origStart, end_frame: d.start - 1 });
      if (d.end > d.origEnd) edit("mark_state", { state: d.label, start_frame: d.origEnd + 1, end_frame: d.end });
      else if (d.end < d.origEnd) edit("mark_state", { state: "none", start_frame: d.end + 1, end_frame: d.origEnd });
    }
  };

  const onCreate = (track, f) => {
    if (!state) return;
    const half = Math.max(1, Math.round(fps / 4));
    if (track === "reps") edit("add_repetition", { start_frame: Math.max(0, f - half), end_frame: Math.min(n - 1, f + half) });
    if (track === "penalties") openPenalty(f);
  };

  const openPenalty = (f) => {
    const rep = selectedRep() || repAt(f);
    setPrompt({ kind: "penalty", start: rep ? rep.start : f, end: rep ? rep.end : f });
  };

  const views = (slices || []).length > 1 ? slices : [];

  // -- keys ------------------------------------------------------------------------------------------
  const handler = React.useRef(null);
  handler.current = (ev, down) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (isTyping(ev.target)) {
      if (down && ev.key === "Escape") { setPrompt(null); ev.target.blur(); }
      return;
    }
    const key = ev.key.length === 1 && !ev.shiftKey ? ev.key.toLowerCase() : ev.key;
    const v = video.current;
    const f = live.current.frame ?? frame;
    if (!down) {
      const p = live.current.paint;
      if (p && key.toLowerCase() === p.label.toLowerCase()) {
        live.current.paint = null;
        setPaint(null);
        edit("mark_state", { state: p.label, start_frame: Math.min(p.lo, f), end_frame: Math.max(p.hi, f) });
        ev.preventDefault();
        ev.stopPropagation();
      }
      return;
    }
    let used = true;
    switch (key) {
      case " ": if (v) { if (v.paused) v.play(); else v.pause(); } break;
      case ",": if (v) v.pause(); seek(f - 1); break;
      case ".": if (v) v.pause(); seek(f + 1); break;
      case "[": case "]": {
        const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(speed) + (key === "]" ? 1 : -1)));
        setSpeed(SPEEDS[i]);
        if (v) v.playbackRate = SPEEDS[i];
        break;
      }
      case "a": case "r":
        if (!ev.repeat && !live.current.paint) {
          live.current.paint = { label: key.toUpperCase(), lo: f, hi: f };
          setPaint(live.current.paint);
        }
        break;
      case "i": {
        const rep = selectedRep();
        if (rep) edit("edit_repetition", { segment: rep.id, start_frame: Math.min(f, rep.end), end_frame: rep.end });
        else setInPoint(f);
        break;
      }
      case "o": {
        const rep = selectedRep();
        if (rep) edit("edit_repetition", { segment: rep.id, start_frame: rep.start, end_frame: Math.max(f, rep.start) });
        else if (inPoint !== null) {
          edit("add_repetition", { start_frame: Math.min(inPoint, f), end_frame: Math.max(inPoint, f) });
          setInPoint(null);
        }
        break;
      }
      case "n": onCreate("reps", f); break;
      case "N": edit("next_clip", {}, (r) => setMessage(r.next ? `next: ${r.next} (${r.why})` : "no other clip")); break;
      case "Delete": case "Backspace":
        if (selected && selected.track === "reps") edit("delete_repetition", { segment: selected.id });
        else if (selected && selected.track === "penalties") edit("delete_penalty", { penalty: selected.id });
        setSelected(null);
        break;
      case "g": edit("accept_suggestions", {}); break;
      case "p": case "f": case "u": setVerdict(VERDICT_KEYS[key]); break;
      case "P": edit("pass_remaining", { verdict: "pass" }); break;
      case "q": setPrompt({ kind: "score" }); break;
      case "x": openPenalty(f); break;
      case "v":
        if (views.length) setSlice(views[(views.indexOf(slice) + 1) % views.length]);
        break;
      case "Escape": // clears what is selected; with nothing to clear it is the App's (it closes the sample)
        if (selected || inPoint !== null || prompt) { setSelected(null); setInPoint(null); setPrompt(null); }
        else used = false;
        break;
      default:
        if (/^[0-9]$/.test(key) && state) {
          const i = key === "0" ? 9 : Number(key) - 1;
          if (i < state.criteria.length) setCrit(i);
        } else used = false;
    }
    if (used) {
      ev.preventDefault();
      ev.stopPropagation(); // the App's own player must not act on the same key (its "r" resets the zoom)
    }
  };

  React.useEffect(() => {
    const down = (ev) => handler.current(ev, true);
    const up = (ev) => handler.current(ev, false);
    window.addEventListener("keydown", down, true);
    window.addEventListener("keyup", up, true);
    return () => {
      window.removeEventListener("keydown", down, true);
      window.removeEventListener("keyup", up, true);
    };
  }, []);

  React.useEffect(() => {
    if (prompt && prompt.kind === "score" && scoreBox.current) scoreBox.current.focus();
    if (prompt && prompt.kind === "penalty" && penaltyBox.current) penaltyBox.current.focus();
  }, [prompt]);

  // -- layout ----------------------------------------------------------------------------------------
  if (!sampleId) return <div data-cy="gym-keys" style={{ padding: 12 }}>Open a clip to label it.</div>;
  const who = state && state.annotator;
  const by = (x) => (x && x.annotator ? ` by ${x.annotator}${x.origin && x.origin !== "human" ? ` (${x.origin})` : ""}` : "");

  const submitPenalty = (value) => {
    const p = prompt;
    setPrompt(null);
    if (!value) return;
    const chosen = state.error_types.length
      ? (state.error_types[Number(value) - 1] || state.error_types.find((e) => e.id === value) || {}).id
      : value;
    if (!chosen) { setMessage(`error: no error type ${value}`); return; }
    edit("add_penalty", { error_type: chosen, start_frame: p.start, end_frame: p.end });
  };

  return (
    <div
      data-cy="gym-keys"
      data-frame={frame}
      data-busy={busy}
      data-playing={playing ? 1 : 0}
      data-paint={paint ? `${paint.label}:${paint.lo}-${paint.hi}` : ""}
      data-sample={state ? state.sample_id : ""}
      style={{ padding: "10px 64px 10px 10px", display: "flex", flexDirection: "column", gap: 8, height: "100%", overflow: "auto",
               color: "#ddd", fontSize: 13 }}
    >
      <div style={{ display: "flex", gap: 12, alignItems: "baseline", flexWrap: "wrap" }}>
        <strong data-cy="gym-title" style={{ fontSize: 16 }}>{state ? state.video_id : "loading..."}</strong>
        <span>{state ? `${state.exercise || ""} · ${state.view || "no view"}` : ""}</span>
        <span data-cy="gym-frame">frame {frame} / {n ? n - 1 : "?"}</span>
        <span>{speed}x</span>
        <span>{who ? `edits recorded as ${who}` : ""}</span>
        {views.length ? (
          <span>
            view:{" "}
            {views.map((s) => (
              <button key={s} data-cy={`gym-view-${s}`} onClick={() => setSlice(s)}
                      style={{ marginRight: 4, fontWeight: s === slice ? "bold" : "normal" }}>{s}</button>
            ))}
          </span>
        ) : null}
        <span data-cy="gym-message" style={{ color: message.startsWith("error") ? "#f66" : "#9c9" }}>{message}</span>
      </div>
      {src ? (
        <video ref={video} src={src} data-cy="gym-video" preload="auto" muted playsInline
               onClick={() => { const v = video.current; if (v) { if (v.paused) v.play(); else v.pause(); } }}
               style={{ width: "100%", maxWidth: 800, height: "38vh", objectFit: "contain", background: "#000", alignSelf: "flex-start" }} />
      ) : null}
      {state ? (
        <Timeline n={n} frame={frame} state={state} selected={selected} onSelect={setSelected} onSeek={seek}
                  onMove={onMove} onCreate={onCreate} paint={paint} />
      ) : null}
      {inPoint !== null ? <div>in-point at frame {inPoint}: press O at the end of the repetition</div> : null}
      {prompt && prompt.kind === "score" ? (
        <label>Quality score (0-100), Enter saves:{" "}
          <input ref={scoreBox} data-cy="gym-score-input" type="number" min="0" max="100"
                 onKeyDown={(ev) => {
                   if (ev.key === "Enter") { edit("set_score", { score: Number(ev.currentTarget.value) }); setPrompt(null); }
                 }} />
        </label>
      ) : null}
      {prompt && prompt.kind === "penalty" ? (
        <label>Penalty on frames {prompt.start}-{prompt.end}: {state.error_types.length
          ? state.error_types.map((e, i) => `${i + 1} ${e.id}`).join(", ") + " (number or id)"
          : "error type"}, Enter saves:{" "}
          <input ref={penaltyBox} data-cy="gym-penalty-input"
                 onKeyDown={(ev) => { if (ev.key === "Enter") submitPenalty(ev.currentTarget.value.trim()); }} />
        </label>
      ) : null}
      {state ? (
        <div style={{ display: "grid", gridTemplateColumns: "1fr 1fr", gap: 10 }}>
          <div>
            <div style={{ fontWeight: "bold", marginBottom: 4 }}>Criteria (1-9, 0 choose; P/F/U judge; Shift+P passes the rest)</div>
            {state.criteria.length ? null : <div>No criteria for this exercise in the dataset.</div>}
            {state.criteria.map((c, i) => (
              <div key={c.name} data-cy={`gym-crit-${i}`} data-verdict={c.verdict || ""} data-by={c.annotator || ""}
                   onClick={() => setCrit(i)}
                   style={{ padding: "2px 4px", cursor: "pointer", outline: i === crit ? "1px solid #ccc" : "none" }}>
                <span style={{ display: "inline-block", width: 18 }}>{i < 10 ? (i + 1) % 10 : ""}</span>
                {c.name} <span style={{ color: "#999" }}>{c.view && c.view !== state.view ? `[${c.view}]` : ""}</span>{" "}
                <span style={{ color: VERDICT_COLORS[c.verdict] || "#888" }}>{c.verdict || "-"}</span>
                <span style={{ color: "#888" }}>{by(c)}</span>
              </div>
            ))}
          </div>
          <div>
            <div data-cy="gym-score">
              <b>Quality score</b>: {state.score ? `${state.score.value}${by(state.score)}` : "-"} (Q to type)
            </div>
            <div data-cy="gym-reps"><b>Repetitions</b> ({state.repetitions.length}):{" "}
              {state.repetitions.map((r) => `${r.start}-${r.end}${by(r)}`).join(", ") || "none"}</div>
            <div data-cy="gym-states"><b>A/R</b>: {state.states.map((s) => `${s.label} ${s.start}-${s.end}`).join(", ") || "none"}</div>
            <div data-cy="gym-penalties"><b>Penalties</b>:{" "}
              {state.penalties.map((p) => `${p.error_type} ${p.start ?? ""}-${p.end ?? ""}${by(p)}`).join(", ") || "none"}</div>
            <div><b>Suggestion</b>: {state.suggestion ? `${state.suggestion.counter}: ${state.suggestion.reps.length} repetition(s) (G accepts)` : "none yet (G asks the counter)"}</div>
          </div>
        </div>
      ) : null}
      <details>
        <summary>Keys</summary>
        <table data-cy="gym-keymap" style={{ fontSize: 12 }}>
          <tbody>
            {KEYMAP.map((k) => <tr key={k.key}><td style={{ paddingRight: 10 }}><code>{k.key}</code></td><td>{k.action}</td></tr>)}
          </tbody>
        </table>
      </details>
    </div>
  );
}
