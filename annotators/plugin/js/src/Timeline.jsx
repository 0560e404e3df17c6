// The timeline of the "Gym keys" panel: a ruler and tracks for repetitions, A/R states, penalties and
// the counter's suggestion. Click to seek; drag a segment's edge to move it, its body to shift it; double-click an empty
// spot of the repetitions track to add one there; click a segment to select it (Delete removes it).
import React from "react";

const TRACKS = [
  { id: "reps", label: "Reps" },
  { id: "states", label: "A/R" },
  { id: "penalties", label: "Penalties" },
  { id: "suggestion", label: "Suggested" },
];
const COLORS = { reps: "#b04adf", A: "#e0702a", R: "#3f87d6", penalties: "#d33d3d", suggestion: "#777" };

function frameAt(event, el, n) {
  const rect = el.getBoundingClientRect();
  const f = Math.floor(((event.clientX - rect.left) / rect.width) * n);
  return Math.max(0, Math.min(n - 1, f));
}

export default function Timeline({ n, frame, state, selected, onSelect, onSeek, onMove, onCreate, paint }) {
  const [drag, setDrag] = React.useState(null); // {track, id, edge, start, end, el}
  const areaRef = React.useRef(null);
  const pct = (f) => `${(f / n) * 100}%`;
  const width = (s, e) => `${((e - s + 1) / n) * 100}%`;

  React.useEffect(() => {
    if (!drag) return undefined;
    const move = (ev) => {
      const f = frameAt(ev, areaRef.current, n);
      setDrag((d) => {
        if (!d) return d;
        const next = { ...d, moved: true };
        if (d.edge === "start") next.start = Math.min(f, d.end);
        else if (d.edge === "end") next.end = Math.max(f, d.start);
        else {  // the body: shift the whole segment, keeping its length, inside the clip
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
    penalties: state.penalties
      .filter((p) => p.start !== null && p.start !== undefined)
      .map((p) => ({ ...p, color: COLORS.penalties, text: p.error_type })),
    suggestion: ((state.suggestion && state.suggestion.reps) || []).map(([s, e], i) => ({
      id: `sug${i}`, start: s, end: e, color: COLORS.suggestion, text: `${s}-${e}`, ghost: true,
    })),
  };

  const segment = (track, s, i) => {
    const live = drag && drag.id === s.id ? drag : s;
    const isSel = selected && selected.id === s.id;
    const handle = (edge) => (
      <div
        data-cy={`gym-${track}-${i}-${edge}`}
        onPointerDown={(ev) => {
          ev.stopPropagation();
          ev.preventDefault();
          onSelect({ track, id: s.id });
          setDrag({ track, id: s.id, edge, start: s.start, end: s.end, origStart: s.start, origEnd: s.end,
                    label: s.label });
        }}
        style={{ position: "absolute", top: 0, bottom: 0, width: 7, cursor: "ew-resize",
                 [edge === "start" ? "left" : "right"]: -3, background: "rgba(255,255,255,0.35)" }}
      />
    );
    return (
      <div
        key={s.id}
        data-cy={`gym-${track}-${i}`}
        title={`${s.text} ${s.annotator ? `by ${s.annotator}` : ""}`}
        onPointerDown={(ev) => {
          ev.stopPropagation();
          if (s.ghost) return;
          onSelect({ track, id: s.id });
          if (track !== "states") {  // drag the body to shift a repetition or penalty (A/R: paint or edges)
            setDrag({ track, id: s.id, edge: "body", grab: frameAt(ev, areaRef.current, n), start: s.start,
                      end: s.end, origStart: s.start, origEnd: s.end, label: s.label });
          }
        }}
        style={{ position: "absolute", top: 2, bottom: 2, left: pct(live.start), width: width(live.start, live.end),
                 background: s.color, opacity: s.ghost ? 0.45 : 0.9, borderRadius: 3, fontSize: 11,
                 color: "#fff", overflow: "hidden", whiteSpace: "nowrap", paddingLeft: 4, boxSizing: "border-box",
                 outline: isSel ? "2px solid #fff" : "none" }}
      >
        {s.text}
        {s.ghost ? null : handle("start")}
        {s.ghost ? null : handle("end")}
      </div>
    );
  };

  if (!n) return null;
  const ticks = [];
  const step = Math.max(1, Math.round(n / 10));
  for (let f = 0; f < n; f += step) ticks.push(f);

  return (
    <div data-cy="gym-timeline" style={{ display: "flex", flexDirection: "column", gap: 3, userSelect: "none" }}>
      {[{ id: "ruler", label: "Frame" }, ...TRACKS].map((t) => (
        <div key={t.id} style={{ display: "flex", alignItems: "stretch", height: t.id === "ruler" ? 18 : 24 }}>
          <div style={{ width: 74, fontSize: 12, color: "#bbb", alignSelf: "center" }}>{t.label}</div>
          <div
            ref={t.id === "ruler" ? areaRef : undefined}
            data-cy={`gym-track-${t.id}`}
            onPointerDown={(ev) => onSeek(frameAt(ev, ev.currentTarget, n))}
            onDoubleClick={(ev) => onCreate(t.id, frameAt(ev, ev.currentTarget, n))}
            style={{ position: "relative", flex: 1, background: t.id === "ruler" ? "#1b1b1b" : "#2a2a2a",
                     borderRadius: 3, cursor: "pointer" }}
          >
            {t.id === "ruler"
              ? ticks.map((f) => (
                  <span key={f} style={{ position: "absolute", left: pct(f), fontSize: 10, color: "#888" }}>{f}</span>
                ))
              : (items[t.id] || []).map((s, i) => segment(t.id, s, i))}
            {t.id === "states" && paint ? (
              <div data-cy="gym-paint" style={{ position: "absolute", top: 0, bottom: 0, left: pct(paint.lo),
                   width: width(paint.lo, paint.hi), background: COLORS[paint.label], opacity: 0.9, fontSize: 11,
                   color: "#fff", paddingLeft: 4, boxSizing: "border-box", whiteSpace: "nowrap", overflow: "hidden" }}>
                painting {paint.label}
              </div>
            ) : null}
            <div style={{ position: "absolute", top: 0, bottom: 0, left: pct(frame), width: 2, background: "#fff",
                          pointerEvents: "none" }} />
          </div>
        </div>
      ))}
    </div>
  );
}
