(function(global, factory) {
  typeof exports === "object" && typeof module !== "undefined" ? factory(require("@fiftyone/plugins"), require("react"), require("recoil"), require("@fiftyone/state"), require("@fiftyone/operators")) : typeof define === "function" && define.amd ? define(["@fiftyone/plugins", "react", "recoil", "@fiftyone/state", "@fiftyone/operators"], factory) : (global = typeof globalThis !== "undefined" ? globalThis : global || self, factory(global.__fop__, global.React, global.recoil, global.__fos__, global.__foo__));
})(this, function(plugins, React, recoil, fos, operators) {
  "use strict";
  function _interopNamespaceDefault(e) {
    const n = Object.create(null, { [Symbol.toStringTag]: { value: "Module" } });
    if (e) {
      for (const k in e) {
        if (k !== "default") {
          const d = Object.getOwnPropertyDescriptor(e, k);
          Object.defineProperty(n, k, d.get ? d : {
            enumerable: true,
            get: () => e[k]
          });
        }
      }
    }
    n.default = e;
    return Object.freeze(n);
  }
  const fos__namespace = /* @__PURE__ */ _interopNamespaceDefault(fos);
  const PLUGIN = "@gymdata/annotate";
  function call(name, params = {}) {
    return new Promise((resolve, reject) => {
      try {
        operators.executeOperator(`${PLUGIN}/${name}`, params, {
          callback: (result) => {
            const error = (result == null ? void 0 : result.error) || (result == null ? void 0 : result.errorMessage);
            if (error) reject(new Error((result == null ? void 0 : result.errorMessage) || String(error)));
            else resolve((result == null ? void 0 : result.result) ?? {});
          }
        });
      } catch (e) {
        reject(e);
      }
    });
  }
  const KEYMAP = [
    { key: "Space", action: "play / pause" },
    { key: ",", action: "previous frame (the App's own key)" },
    { key: ".", action: "next frame (the App's own key)" },
    { key: "[", action: "slower (0.25x steps down to 0.25x)" },
    { key: "]", action: "faster (up to 2x)" },
    { key: "A (hold)", action: "paint Active on every frame played while held" },
    { key: "R (hold)", action: "paint Resting on every frame played while held" },
    { key: "I", action: "start of the selected repetition at the playhead (no selection: remember an in-point)" },
    { key: "O", action: "end of the selected repetition at the playhead (after an in-point: new repetition)" },
    { key: "N", action: "new repetition at the playhead" },
    { key: "Delete", action: "delete the selected repetition or penalty (Backspace too)" },
    { key: "G", action: "accept the counter's suggestions (asks the counter first if needed)" },
    { key: "1-9, 0", action: "choose criterion 1-10" },
    { key: "P", action: "pass the chosen criterion, go to the next" },
    { key: "F", action: "fail the chosen criterion, go to the next" },
    { key: "U", action: "unsure for the chosen criterion, go to the next" },
    { key: "Shift+P", action: "pass every criterion you have not judged yet" },
    { key: "Q", action: "type the quality score (Enter saves)" },
    { key: "X", action: "penalty over the selected repetition (or the one at the playhead)" },
    { key: "V", action: "next view of the take (take, frontal, lateral)" },
    { key: "Shift+N", action: "next clip to label (the queue)" },
    { key: "Escape", action: "clear the selection / close a prompt" }
  ];
  const TRACKS = [
    { id: "reps", label: "Reps" },
    { id: "states", label: "A/R" },
    { id: "penalties", label: "Penalties" },
    { id: "suggestion", label: "Suggested" }
  ];
  const COLORS = { reps: "#b04adf", A: "#e0702a", R: "#3f87d6", penalties: "#d33d3d", suggestion: "#777" };
  function frameAt(event, el, n) {
    const rect = el.getBoundingClientRect();
    const f = Math.floor((event.clientX - rect.left) / rect.width * n);
    return Math.max(0, Math.min(n - 1, f));
  }
  function Timeline({ n, frame, state, selected, onSelect, onSeek, onMove, onCreate, paint }) {
    const [drag, setDrag] = React.useState(null);
    const areaRef = React.useRef(null);
    const pct = (f) => `${f / n * 100}%`;
    const width = (s, e) => `${(e - s + 1) / n * 100}%`;
    React.useEffect(() => {
      if (!drag) return void 0;
      const move = (ev) => {
        const f = frameAt(ev, areaRef.current, n);
        setDrag((d) => {
          if (!d) return d;
          const next = { ...d, moved: true };
          if (d.edge === "start") next.start = Math.min(f, d.end);
          else if (d.edge === "end") next.end = Math.max(f, d.start);
          else {
            const len = d.origEnd - d.origStart;
            next.start = Math.max(0, Math.min(n - 1 - len, d.origStart + f - d.grab));
            next.end = next.start + len;
          }
          return next;
        });
      };
      const up = () => {
        setDrag((d) => {
          if (d && d.moved && (d.start !== d.origStart || d.end !== d.origEnd)) onMove(d);
          return null;
        });
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
      return () => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
      };
    }, [drag && drag.id, drag && drag.edge, n]);
    const items = {
      reps: state.repetitions.map((s) => ({ ...s, color: COLORS.reps, text: `${s.start}-${s.end}` })),
      states: state.states.map((s) => ({ ...s, color: COLORS[s.label] || "#999", text: s.label })),
      penalties: state.penalties.filter((p) => p.start !== null && p.start !== void 0).map((p) => ({ ...p, color: COLORS.penalties, text: p.error_type })),
      suggestion: (state.suggestion && state.suggestion.reps || []).map(([s, e], i) => ({
        id: `sug${i}`,
        start: s,
        end: e,
        color: COLORS.suggestion,
        text: `${s}-${e}`,
        ghost: true
      }))
    };
    const segment = (track, s, i) => {
      const live = drag && drag.id === s.id ? drag : s;
      const isSel = selected && selected.id === s.id;
      const handle = (edge) => /* @__PURE__ */ React.createElement(
        "div",
        {
          "data-cy": `gym-${track}-${i}-${edge}`,
          onPointerDown: (ev) => {
            ev.stopPropagation();
            ev.preventDefault();
            onSelect({ track, id: s.id });
            setDrag({
              track,
              id: s.id,
              edge,
              start: s.start,
              end: s.end,
              origStart: s.start,
              origEnd: s.end,
              label: s.label
            });
          },
          style: {
            position: "absolute",
            top: 0,
            bottom: 0,
            width: 7,
            cursor: "ew-resize",
            [edge === "start" ? "left" : "right"]: -3,
            background: "rgba(255,255,255,0.35)"
          }
        }
      );
      return /* @__PURE__ */ React.createElement(
        "div",
        {
          key: s.id,
          "data-cy": `gym-${track}-${i}`,
          title: `${s.text} ${s.annotator ? `by ${s.annotator}` : ""}`,
          onPointerDown: (ev) => {
            ev.stopPropagation();
            if (s.ghost) return;
            onSelect({ track, id: s.id });
            if (track !== "states") {
              setDrag({
                track,
                id: s.id,
                edge: "body",
                grab: frameAt(ev, areaRef.current, n),
                start: s.start,
                end: s.end,
                origStart: s.start,
                origEnd: s.end,
                label: s.label
              });
            }
          },
          style: {
            position: "absolute",
            top: 2,
            bottom: 2,
            left: pct(live.start),
            width: width(live.start, live.end),
            background: s.color,
            opacity: s.ghost ? 0.45 : 0.9,
            borderRadius: 3,
            fontSize: 11,
            color: "#fff",
            overflow: "hidden",
            whiteSpace: "nowrap",
            paddingLeft: 4,
            boxSizing: "border-box",
            outline: isSel ? "2px solid #fff" : "none"
          }
        },
        s.text,
        s.ghost ? null : handle("start"),
        s.ghost ? null : handle("end")
      );
    };
    if (!n) return null;
    const ticks = [];
    const step = Math.max(1, Math.round(n / 10));
    for (let f = 0; f < n; f += step) ticks.push(f);
    return /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-timeline", style: { display: "flex", flexDirection: "column", gap: 3, userSelect: "none" } }, [{ id: "ruler", label: "Frame" }, ...TRACKS].map((t) => /* @__PURE__ */ React.createElement("div", { key: t.id, style: { display: "flex", alignItems: "stretch", height: t.id === "ruler" ? 18 : 24 } }, /* @__PURE__ */ React.createElement("div", { style: { width: 74, fontSize: 12, color: "#bbb", alignSelf: "center" } }, t.label), /* @__PURE__ */ React.createElement(
      "div",
      {
        ref: t.id === "ruler" ? areaRef : void 0,
        "data-cy": `gym-track-${t.id}`,
        onPointerDown: (ev) => onSeek(frameAt(ev, ev.currentTarget, n)),
        onDoubleClick: (ev) => onCreate(t.id, frameAt(ev, ev.currentTarget, n)),
        style: {
          position: "relative",
          flex: 1,
          background: t.id === "ruler" ? "#1b1b1b" : "#2a2a2a",
          borderRadius: 3,
          cursor: "pointer"
        }
      },
      t.id === "ruler" ? ticks.map((f) => /* @__PURE__ */ React.createElement("span", { key: f, style: { position: "absolute", left: pct(f), fontSize: 10, color: "#888" } }, f)) : (items[t.id] || []).map((s, i) => segment(t.id, s, i)),
      t.id === "states" && paint ? /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-paint", style: {
        position: "absolute",
        top: 0,
        bottom: 0,
        left: pct(paint.lo),
        width: width(paint.lo, paint.hi),
        background: COLORS[paint.label],
        opacity: 0.9,
        fontSize: 11,
        color: "#fff",
        paddingLeft: 4,
        boxSizing: "border-box",
        whiteSpace: "nowrap",
        overflow: "hidden"
      } }, "painting ", paint.label) : null,
      /* @__PURE__ */ React.createElement("div", { style: {
        position: "absolute",
        top: 0,
        bottom: 0,
        left: pct(frame),
        width: 2,
        background: "#fff",
        pointerEvents: "none"
      } })
    ))));
  }
  const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
  const VERDICT_KEYS = { p: "pass", f: "fail", u: "unsure" };
  const VERDICT_COLORS = { pass: "#3a9a4a", fail: "#c83c3c", unsure: "#c8a03c" };
  function isTyping(target) {
    const tag = target && target.tagName || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target && target.isContentEditable;
  }
  function mediaUrl(sample) {
    var _a;
    const urls = sample && sample.urls || [];
    const path = (urls.find((u) => u.field === "filepath") || urls[0] || {}).url || ((_a = sample == null ? void 0 : sample.sample) == null ? void 0 : _a.filepath);
    return path ? fos__namespace.getSampleSrc(path) : null;
  }
  function GymKeys() {
    var _a, _b, _c;
    const modal = recoil.useRecoilValue(fos__namespace.modalSample);
    const slice = recoil.useRecoilValue(fos__namespace.modalGroupSlice);
    const slices = recoil.useRecoilValue(fos__namespace.groupSlices);
    const setSlice = recoil.useSetRecoilState(fos__namespace.modalGroupSlice);
    const sampleId = ((_a = modal == null ? void 0 : modal.sample) == null ? void 0 : _a._id) || (modal == null ? void 0 : modal.id) || null;
    const fps = (modal == null ? void 0 : modal.frameRate) || ((_c = (_b = modal == null ? void 0 : modal.sample) == null ? void 0 : _b.metadata) == null ? void 0 : _c.frame_rate) || 25;
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
    const [selected, setSelected] = React.useState(null);
    const [inPoint, setInPoint] = React.useState(null);
    const [paint, setPaint] = React.useState(null);
    const [prompt, setPrompt] = React.useState(null);
    const live = React.useRef({});
    const n = state && state.num_frames || 0;
    React.useEffect(() => {
      let stale = false;
      setState(null);
      setSelected(null);
      setInPoint(null);
      setPrompt(null);
      setCrit(0);
      setMessage("");
      if (!sampleId) return void 0;
      call("panel_state", { sample_id: sampleId }).then((r) => {
        if (!stale) setState(r.state || null);
      }).catch((e) => {
        if (!stale) setMessage(`error: ${e.message}`);
      });
      return () => {
        stale = true;
      };
    }, [sampleId]);
    React.useCallback(() => {
      const v = video.current;
      if (!v) return 0;
      const f = Math.floor(v.currentTime * fps + 1e-3);
      return Math.max(0, Math.min((n || 1) - 1, f));
    }, [fps, n]);
    React.useEffect(() => {
      const v = video.current;
      if (!v) return void 0;
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
    const edit = React.useCallback((name, params, done) => {
      if (!state) return;
      setBusy((b) => b + 1);
      call(name, { ...params, sample_id: state.sample_id, with_state: true }).then((r) => {
        if (r.state) setState(r.state);
        const k = (r.applied || []).length;
        setMessage(k ? `saved ${k} edit(s) as ${r.state && r.state.annotator || "you"}` : "nothing changed");
        if (done) done(r);
      }).catch((e) => setMessage(`error: ${e.message}`)).finally(() => setBusy((b) => b - 1));
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
    const handler = React.useRef(null);
    handler.current = (ev, down) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (isTyping(ev.target)) {
        if (down && ev.key === "Escape") {
          setPrompt(null);
          ev.target.blur();
        }
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
        case " ":
          if (v) {
            if (v.paused) v.play();
            else v.pause();
          }
          break;
        case ",":
          if (v) v.pause();
          seek(f - 1);
          break;
        case ".":
          if (v) v.pause();
          seek(f + 1);
          break;
        case "[":
        case "]": {
          const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(speed) + (key === "]" ? 1 : -1)));
          setSpeed(SPEEDS[i]);
          if (v) v.playbackRate = SPEEDS[i];
          break;
        }
        case "a":
        case "r":
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
        case "n":
          onCreate("reps", f);
          break;
        case "N":
          edit("next_clip", {}, (r) => setMessage(r.next ? `next: ${r.next} (${r.why})` : "no other clip"));
          break;
        case "Delete":
        case "Backspace":
          if (selected && selected.track === "reps") edit("delete_repetition", { segment: selected.id });
          else if (selected && selected.track === "penalties") edit("delete_penalty", { penalty: selected.id });
          setSelected(null);
          break;
        case "g":
          edit("accept_suggestions", {});
          break;
        case "p":
        case "f":
        case "u":
          setVerdict(VERDICT_KEYS[key]);
          break;
        case "P":
          edit("pass_remaining", { verdict: "pass" });
          break;
        case "q":
          setPrompt({ kind: "score" });
          break;
        case "x":
          openPenalty(f);
          break;
        case "v":
          if (views.length) setSlice(views[(views.indexOf(slice) + 1) % views.length]);
          break;
        case "Escape":
          setSelected(null);
          setInPoint(null);
          setPrompt(null);
          break;
        default:
          if (/^[0-9]$/.test(key) && state) {
            const i = key === "0" ? 9 : Number(key) - 1;
            if (i < state.criteria.length) setCrit(i);
          } else used = false;
      }
      if (used) {
        ev.preventDefault();
        ev.stopPropagation();
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
    if (!sampleId) return /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-keys", style: { padding: 12 } }, "Open a clip to label it.");
    const who = state && state.annotator;
    const by = (x) => x && x.annotator ? ` by ${x.annotator}${x.origin && x.origin !== "human" ? ` (${x.origin})` : ""}` : "";
    const submitPenalty = (value) => {
      const p = prompt;
      setPrompt(null);
      if (!value) return;
      const chosen = state.error_types.length ? (state.error_types[Number(value) - 1] || state.error_types.find((e) => e.id === value) || {}).id : value;
      if (!chosen) {
        setMessage(`error: no error type ${value}`);
        return;
      }
      edit("add_penalty", { error_type: chosen, start_frame: p.start, end_frame: p.end });
    };
    return /* @__PURE__ */ React.createElement(
      "div",
      {
        "data-cy": "gym-keys",
        "data-frame": frame,
        "data-busy": busy,
        "data-playing": playing ? 1 : 0,
        "data-paint": paint ? `${paint.label}:${paint.lo}-${paint.hi}` : "",
        "data-sample": state ? state.sample_id : "",
        style: {
          padding: "10px 64px 10px 10px",
          display: "flex",
          flexDirection: "column",
          gap: 8,
          height: "100%",
          overflow: "auto",
          color: "#ddd",
          fontSize: 13
        }
      },
      /* @__PURE__ */ React.createElement("div", { style: { display: "flex", gap: 12, alignItems: "baseline", flexWrap: "wrap" } }, /* @__PURE__ */ React.createElement("strong", { "data-cy": "gym-title", style: { fontSize: 16 } }, state ? state.video_id : "loading..."), /* @__PURE__ */ React.createElement("span", null, state ? `${state.exercise || ""} · ${state.view || "no view"}` : ""), /* @__PURE__ */ React.createElement("span", { "data-cy": "gym-frame" }, "frame ", frame, " / ", n ? n - 1 : "?"), /* @__PURE__ */ React.createElement("span", null, speed, "x"), /* @__PURE__ */ React.createElement("span", null, who ? `edits recorded as ${who}` : ""), views.length ? /* @__PURE__ */ React.createElement("span", null, "view:", " ", views.map((s) => /* @__PURE__ */ React.createElement(
        "button",
        {
          key: s,
          "data-cy": `gym-view-${s}`,
          onClick: () => setSlice(s),
          style: { marginRight: 4, fontWeight: s === slice ? "bold" : "normal" }
        },
        s
      ))) : null, /* @__PURE__ */ React.createElement("span", { "data-cy": "gym-message", style: { color: message.startsWith("error") ? "#f66" : "#9c9" } }, message)),
      src ? /* @__PURE__ */ React.createElement(
        "video",
        {
          ref: video,
          src,
          "data-cy": "gym-video",
          preload: "auto",
          muted: true,
          playsInline: true,
          onClick: () => {
            const v = video.current;
            if (v) {
              if (v.paused) v.play();
              else v.pause();
            }
          },
          style: { width: "100%", maxWidth: 800, height: "38vh", objectFit: "contain", background: "#000", alignSelf: "flex-start" }
        }
      ) : null,
      state ? /* @__PURE__ */ React.createElement(
        Timeline,
        {
          n,
          frame,
          state,
          selected,
          onSelect: setSelected,
          onSeek: seek,
          onMove,
          onCreate,
          paint
        }
      ) : null,
      inPoint !== null ? /* @__PURE__ */ React.createElement("div", null, "in-point at frame ", inPoint, ": press O at the end of the repetition") : null,
      prompt && prompt.kind === "score" ? /* @__PURE__ */ React.createElement("label", null, "Quality score (0-100), Enter saves:", " ", /* @__PURE__ */ React.createElement(
        "input",
        {
          ref: scoreBox,
          "data-cy": "gym-score-input",
          type: "number",
          min: "0",
          max: "100",
          onKeyDown: (ev) => {
            if (ev.key === "Enter") {
              edit("set_score", { score: Number(ev.currentTarget.value) });
              setPrompt(null);
            }
          }
        }
      )) : null,
      prompt && prompt.kind === "penalty" ? /* @__PURE__ */ React.createElement("label", null, "Penalty on frames ", prompt.start, "-", prompt.end, ": ", state.error_types.length ? state.error_types.map((e, i) => `${i + 1} ${e.id}`).join(", ") + " (number or id)" : "error type", ", Enter saves:", " ", /* @__PURE__ */ React.createElement(
        "input",
        {
          ref: penaltyBox,
          "data-cy": "gym-penalty-input",
          onKeyDown: (ev) => {
            if (ev.key === "Enter") submitPenalty(ev.currentTarget.value.trim());
          }
        }
      )) : null,
      state ? /* @__PURE__ */ React.createElement("div", { style: { display: "grid", gridTemplateColumns: "1fr 1fr", gap: 10 } }, /* @__PURE__ */ React.createElement("div", null, /* @__PURE__ */ React.createElement("div", { style: { fontWeight: "bold", marginBottom: 4 } }, "Criteria (1-9, 0 choose; P/F/U judge; Shift+P passes the rest)"), state.criteria.length ? null : /* @__PURE__ */ React.createElement("div", null, "No criteria for this exercise in the dataset."), state.criteria.map((c, i) => /* @__PURE__ */ React.createElement(
        "div",
        {
          key: c.name,
          "data-cy": `gym-crit-${i}`,
          "data-verdict": c.verdict || "",
          "data-by": c.annotator || "",
          onClick: () => setCrit(i),
          style: { padding: "2px 4px", cursor: "pointer", outline: i === crit ? "1px solid #ccc" : "none" }
        },
        /* @__PURE__ */ React.createElement("span", { style: { display: "inline-block", width: 18 } }, i < 10 ? (i + 1) % 10 : ""),
        c.name,
        " ",
        /* @__PURE__ */ React.createElement("span", { style: { color: "#999" } }, c.view && c.view !== state.view ? `[${c.view}]` : ""),
        " ",
        /* @__PURE__ */ React.createElement("span", { style: { color: VERDICT_COLORS[c.verdict] || "#888" } }, c.verdict || "-"),
        /* @__PURE__ */ React.createElement("span", { style: { color: "#888" } }, by(c))
      ))), /* @__PURE__ */ React.createElement("div", null, /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-score" }, /* @__PURE__ */ React.createElement("b", null, "Quality score"), ": ", state.score ? `${state.score.value}${by(state.score)}` : "-", " (Q to type)"), /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-reps" }, /* @__PURE__ */ React.createElement("b", null, "Repetitions"), " (", state.repetitions.length, "):", " ", state.repetitions.map((r) => `${r.start}-${r.end}${by(r)}`).join(", ") || "none"), /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-states" }, /* @__PURE__ */ React.createElement("b", null, "A/R"), ": ", state.states.map((s) => `${s.label} ${s.start}-${s.end}`).join(", ") || "none"), /* @__PURE__ */ React.createElement("div", { "data-cy": "gym-penalties" }, /* @__PURE__ */ React.createElement("b", null, "Penalties"), ":", " ", state.penalties.map((p) => `${p.error_type} ${p.start ?? ""}-${p.end ?? ""}${by(p)}`).join(", ") || "none"), /* @__PURE__ */ React.createElement("div", null, /* @__PURE__ */ React.createElement("b", null, "Suggestion"), ": ", state.suggestion ? `${state.suggestion.counter}: ${state.suggestion.reps.length} repetition(s) (G accepts)` : "none yet (G asks the counter)"))) : null,
      /* @__PURE__ */ React.createElement("details", null, /* @__PURE__ */ React.createElement("summary", null, "Keys"), /* @__PURE__ */ React.createElement("table", { "data-cy": "gym-keymap", style: { fontSize: 12 } }, /* @__PURE__ */ React.createElement("tbody", null, KEYMAP.map((k) => /* @__PURE__ */ React.createElement("tr", { key: k.key }, /* @__PURE__ */ React.createElement("td", { style: { paddingRight: 10 } }, /* @__PURE__ */ React.createElement("code", null, k.key)), /* @__PURE__ */ React.createElement("td", null, k.action))))))
    );
  }
  plugins.registerComponent({
    name: "GymKeys",
    label: "Gym keys",
    component: GymKeys,
    type: plugins.PluginComponentType.Panel,
    activator: () => true,
    panelOptions: { surfaces: "modal", helpMarkdown: "Keyboard-first labelling with a timeline (keys: see the panel)" }
  });
});
