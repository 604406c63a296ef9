// A tensor's value for the inspector: a number, a small matrix as a heatmap, or a summary.
import { el } from "./dom.ts";
import { entry, isFiniteNum, num } from "./format.ts";
import { t } from "./i18n.ts";
import type { Num, Value } from "./types.ts";

function colour(x: Num, lo: number, hi: number): string {
  if (!isFiniteNum(x)) return "cell--bad";
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const level = Math.min(4, Math.round((Math.abs(x) / m) * 4));
  return `cell--${x < 0 ? "neg" : "pos"}${level}`;
}

export function valueView(v: Value | null | undefined): HTMLElement {
  const view = contents(v);
  // A sparse tensor is shown with its zeros filled in: say so.
  if (v?.layout) return el("div", { class: "value" }, el("div", { class: "value__note" }, t("sparseShownDense", { layout: v.layout })), view);
  return view;
}

function contents(v: Value | null | undefined): HTMLElement {
  if (!v) return el("span", { class: "value value--none" }, "None");
  if (!v.data && !v.stats && !v.preview) {
    return el("span", { class: "value value--none" }, `${v.dtype} [${v.shape.join("×")}]: ${t("unread")}`);
  }
  if (v.data && v.shape.length === 0) return el("span", { class: "value value--scalar" }, entry(v, 0, 6));
  if (v.data) return matrixView(v, v.data);
  const box = el("div", { class: "value value--summary" });
  const s = v.stats;
  if (s) {
    box.append(el("div", { class: "value__stats" },
      `min ${num(s.min)}  max ${num(s.max)}  mean ${num(s.mean)}  std ${num(s.std)}` +
      (s.nan ? `  NaN ${s.nan}` : "") + (s.inf ? `  inf ${s.inf}` : "")));
  }
  if (v.histogram) {
    const peak = Math.max(1, ...v.histogram.counts);
    const bars = el("div", { class: "value__histogram", role: "img", "aria-label": t("histogram") });
    for (const c of v.histogram.counts) {
      const bar = el("span", { class: "value__bar" });
      bar.style.height = `${Math.round((c / peak) * 100)}%`;
      bars.append(bar);
    }
    box.append(bars, el("div", { class: "value__range" }, `${num(v.histogram.low)} … ${num(v.histogram.high)}`));
  }
  if (v.preview) box.append(el("div", { class: "value__preview" }, `[${v.preview.map((x) => num(x, 3)).join(", ")}, …]`));
  if (v.real_part_only) box.prepend(el("div", { class: "value__note" }, t("realPartOnly")));
  return box;
}

/** A whole value as a grid (a vector is one row), each cell shaded by its size: the value
 * itself, or the modulus of a complex one (written a+bj). */
function matrixView(v: Value, data: Num[]): HTMLElement {
  const imag = v.imag;
  const shade: Num[] = imag
    ? data.map((re, i) => {
      const im = imag[i] ?? 0;
      return isFiniteNum(re) && isFiniteNum(im) ? Math.hypot(re, im) : "nan";
    })
    : data;
  const finite = shade.filter(isFiniteNum);
  const lo = Math.min(0, ...finite), hi = Math.max(0, ...finite);
  const cols = Math.max(1, v.shape.length <= 1 ? data.length : v.shape[v.shape.length - 1]);
  const grid = el("table", { class: "value value--matrix" });
  for (let start = 0; start < data.length; start += cols) {
    const tr = el("tr");
    for (let i = start; i < Math.min(start + cols, data.length); i++) {
      tr.append(el("td", { class: colour(shade[i], lo, hi) }, entry(v, i, 4)));
    }
    grid.append(tr);
  }
  return grid;
}
