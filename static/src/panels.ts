// The console (printed output up to now, the error at its line) and the chart (plotted series).
import { el } from "./dom.ts";
import { num } from "./format.ts";
import { t } from "./i18n.ts";
import { state } from "./store.ts";
import type { Frame } from "./playback.ts";
import type { Series, Trace, TraceError, TraceEvent } from "./types.ts";

const SVG_NS = "http://www.w3.org/2000/svg";

/** An explanation in the page's language: the server's Chinese one where it has it. */
function explained(x: TraceError | TraceEvent): string {
  const zh = state.lang === "zh-CN" ? x.explanation_zh : null;
  return String(zh ?? x.explanation ?? "");
}

export function consoleView(frame: Frame | null, trace: Trace | null, atEnd: boolean): HTMLElement {
  const box = el("section", { class: "console" }, el("h2", {}, t("console")));
  const text = frame ? frame.stdout : "";
  const out = el("pre", { class: "console__out" });
  if (!text) out.append(t("noOutput"));
  let at = 0;
  for (const [start, end] of frame?.stderr ?? []) {
    if (start > at) out.append(text.slice(at, start));
    out.append(el("span", { class: "console__stderr", title: "stderr" }, text.slice(start, end)));
    at = end;
  }
  if (text && at < text.length) out.append(text.slice(at));
  box.append(out);
  const event = frame?.event;
  if (event?.kind === "anomaly" && event.explanation) {
    box.append(el("div", { class: "console__note", role: "note" }, el("strong", {}, t("whyAnomaly")), el("p", {}, explained(event))));
  }
  const error = trace?.error;
  if (error && (atEnd || frame?.errorLine != null || frame?.event?.kind === "error")) {
    box.append(
      el("div", { class: "console__error", role: "alert" },
        el("strong", {}, error.line ? t("errorAt", { line: error.line }) : error.type),
        el("pre", {}, error.message ? `${error.type}: ${error.message}` : error.type),
        error.explanation ? el("p", {}, explained(error)) : null),
    );
  }
  return box;
}

function pathOf(series: Series, width: number, height: number): { d: string; x: (i: number) => number; y: (v: number) => number } {
  const ys = series.y.map((v) => (typeof v === "number" ? v : NaN));
  const finite = ys.filter(Number.isFinite);
  const lo = Math.min(...finite), hi = Math.max(...finite);
  const span = hi - lo || 1;
  const x = (i: number) => 30 + (i / Math.max(1, ys.length - 1)) * (width - 40);
  const y = (v: number) => 8 + (1 - (v - lo) / span) * (height - 26);
  let d = "";
  ys.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    d += `${d ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  return { d, x, y };
}

export function chartView(trace: Trace | null, frame: Frame | null): HTMLElement | null {
  const series = (trace?.series ?? []).filter((s) => s.y.length > 1);
  if (!series.length) return null;
  const width = 360, height = 150;
  const box = el("section", { class: "chart" }, el("h2", {}, t("chart")));
  for (const s of series.slice(0, 4)) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "chart__svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", s.name);
    const { d, x, y } = pathOf(s, width, height);
    const line = document.createElementNS(SVG_NS, "path");
    line.setAttribute("d", d);
    line.setAttribute("class", "chart__line");
    svg.append(line);
    const ys = s.y.map((v) => (typeof v === "number" ? v : NaN));
    const finite = ys.filter(Number.isFinite);
    const top = Math.max(...finite), bottom = Math.min(...finite);
    // A flat series has one value: labelled once, just above its line.
    const ticks: [string, number, number][] = top === bottom
      ? [["max", top, y(top) - 4]]
      : [["max", top, 14], ["min", bottom, height - 14]];
    for (const [label, value, yy] of ticks) {
      const text = document.createElementNS(SVG_NS, "text");
      text.setAttribute("x", "2");
      text.setAttribute("y", String(yy));
      text.setAttribute("class", "chart__tick");
      text.textContent = `${num(value, 3)}`;
      text.dataset.label = label;
      svg.append(text);
    }
    const it = frame?.iteration;
    if (it != null && s.source !== "plot") {
      const xs = (s.x ?? []).map(Number);
      const index = xs.length ? xs.indexOf(it) : it;
      if (index >= 0 && index < ys.length && Number.isFinite(ys[index])) {
        const dot = document.createElementNS(SVG_NS, "circle");
        dot.setAttribute("cx", String(x(index)));
        dot.setAttribute("cy", String(y(ys[index])));
        dot.setAttribute("r", "4");
        dot.setAttribute("class", "chart__now");
        svg.append(dot);
      }
    }
    // A backward() root is a loss when the program calls it one; else it is named as what it is.
    const kind = s.source !== "loss" ? "" : /loss/i.test(s.name) ? t("seriesLabel", { label: t("series") }) : t("seriesLabel", { label: t("seriesRoot") });
    box.append(el("h3", {}, `${kind}${s.name} (${s.y.length})`), svg);
  }
  return box;
}
