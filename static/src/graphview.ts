// Draws the graph with D3 on SVG and shows a frame on it: states, values, gradients, active edges.
import { select, type Selection } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform, type ZoomBehavior } from "d3-zoom";
import type { DGraph, DNode } from "./model.ts";
import type { Layout } from "./layout.ts";
import type { Frame } from "./playback.ts";
import { short } from "./format.ts";
import { t, type I18nKey } from "./i18n.ts";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Below this zoom the boxes' text is hidden (11px text would be under 4px tall). */
export const FAR_SCALE = 0.35;
/** Below this zoom the boxes' text (11px) is under 7px: too small to read comfortably. */
const READABLE_SCALE = 0.6;

export interface GraphCallbacks {
  onSelect: (id: string | null) => void;
  onHover: (line: number | null) => void;
}

interface Drawn { el: HTMLElement; value?: HTMLElement; grad?: HTMLElement; last: string }

/** The word for each kind of box (DNode.sub) and each state of playback, in a node's name. */
const KIND_WORDS: Record<string, I18nKey> = {
  leaf: "nodeLeaf", param: "nodeParam", nonleaf: "nodeNonleaf", constant: "nodeConstant", detached: "nodeDetached",
  grad: "nodeGrad", module: "nodeModule",
};
const STATE_WORDS: Record<string, I18nKey> = {
  idle: "stateIdle", computed: "stateComputed", active: "stateActive", "grad-active": "stateGradActive",
  "grad-done": "stateGradDone", nan: "stateNan", error: "stateError",
};
/** Room kept between a focused box and the graph's edge when it is panned into view. */
const FOCUS_MARGIN = 24;
interface EdgeLine { d: string; cut: boolean }

/**
 * Draws the graph and shows a frame on it.
 *
 * Nodes are HTML boxes of fixed size (each its own layout boundary), edges are one static SVG,
 * and the edges in use at a step are copied into a small overlay SVG. A step therefore changes a
 * few boxes and the overlay only: the big SVG is never touched while playing, which keeps
 * playback smooth on graphs of thousands of nodes (an all-SVG graph re-laid out every node on
 * every step).
 */
export class GraphView {
  readonly root: HTMLDivElement;
  private readonly svg: SVGSVGElement;
  private readonly edgeLayer: SVGGElement;
  private readonly overlay: SVGSVGElement;
  private readonly overlayLayer: SVGGElement;
  private readonly nodeLayer: HTMLDivElement;
  private readonly zoomer: ZoomBehavior<HTMLDivElement, unknown>;
  private drawn = new Map<string, Drawn>();
  private lines = new Map<string, EdgeLine>();
  private graph: DGraph | null = null;
  private size = { width: 0, height: 0 };
  private selected: string | null = null;
  private litKey = "";
  private viewport = { width: 0, height: 0 }; // the graph's box on the page, as last measured

  constructor(container: HTMLElement, private readonly callbacks: GraphCallbacks) {
    this.root = document.createElement("div");
    this.root.className = "graph";
    this.root.setAttribute("role", "group");
    this.root.setAttribute("aria-label", t("graph"));
    const layer = () => {
      const svg = document.createElementNS(SVG_NS, "svg");
      const g = document.createElementNS(SVG_NS, "g");
      svg.append(g);
      return [svg, g] as const;
    };
    [this.svg, this.edgeLayer] = layer();
    this.svg.setAttribute("class", "graph__edges");
    this.svg.setAttribute("aria-hidden", "true");
    const defs = document.createElementNS(SVG_NS, "defs");
    defs.innerHTML =
      '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker>';
    this.svg.prepend(defs);
    [this.overlay, this.overlayLayer] = layer();
    this.overlay.setAttribute("class", "graph__overlay");
    this.overlay.setAttribute("aria-hidden", "true");
    this.nodeLayer = document.createElement("div");
    this.nodeLayer.className = "graph__nodes";
    this.root.append(this.svg, this.overlay, this.nodeLayer);
    container.append(this.root);
    this.zoomer = zoom<HTMLDivElement, unknown>()
      .scaleExtent([0.05, 4])
      // The graph's own size, as last measured: d3's default reads it from the element at
      // every zoom, which right after drawing forces the browser to lay out every box.
      .extent(() => [[0, 0], [Math.max(1, this.viewport.width), Math.max(1, this.viewport.height)]])
      .on("zoom", (event) => this.transform(event.transform.x, event.transform.y, event.transform.k));
    (select(this.root) as Selection<HTMLDivElement, unknown, null, undefined>).call(this.zoomer).on("dblclick.zoom", null);
    this.root.addEventListener("click", (event) => {
      const target = event.target as Element;
      if (!target.closest(".node")) callbacks.onSelect(null);
    });
    // The box clips its content and is moved by the zoom transform only: when the browser
    // scrolls it to show a focused box, Fit could never bring its left part back. Keep its
    // scroll at 0 and pan the transform to the focused box instead.
    this.root.addEventListener("scroll", () => this.unscroll());
    this.root.addEventListener("focusin", (event) => {
      this.unscroll();
      const box = (event.target as Element).closest<HTMLElement>(".node");
      if (box) this.panTo(box);
    });
  }

  private unscroll(): void {
    if (this.root.scrollLeft || this.root.scrollTop) {
      this.root.scrollLeft = 0;
      this.root.scrollTop = 0;
    }
  }

  /** Pan (keeping the zoom) so the whole box is inside the graph's box, if it is not already. */
  private panTo(box: HTMLElement): void {
    this.measure();
    const { x, y, k } = zoomTransform(this.root);
    const left = x + k * parseFloat(box.style.left), top = y + k * parseFloat(box.style.top);
    const width = k * parseFloat(box.style.width), height = k * parseFloat(box.style.height);
    const shift = (start: number, size: number, room: number) => {
      const margin = Math.min(FOCUS_MARGIN, Math.max(0, (room - size) / 2));
      if (start < margin) return margin - start;
      if (start + size > room - margin) return Math.max(margin - start, room - margin - start - size);
      return 0;
    };
    const dx = shift(left, width, this.viewport.width), dy = shift(top, height, this.viewport.height);
    if (dx || dy) select(this.root).call(this.zoomer.translateBy, dx / k, dy / k);
  }

  /** Names in the page's language (the boxes are renamed at the next show()). */
  relabel(): void {
    this.root.setAttribute("aria-label", t("graph"));
    for (const drawn of this.drawn.values()) drawn.last = "";
  }

  private transform(x: number, y: number, k: number): void {
    const t = `translate(${x},${y}) scale(${k})`;
    this.edgeLayer.setAttribute("transform", t);
    this.overlayLayer.setAttribute("transform", t);
    this.nodeLayer.style.transform = `translate(${x}px, ${y}px) scale(${k})`;
    // Zoomed far out, text would be a few pixels tall: boxes show as coloured shapes only, and
    // the browser lays out no text for them (thousands of boxes drawn at once stay cheap).
    this.root.classList.toggle("graph--far", k < FAR_SCALE);
  }

  /** Draw a laid-out graph (replacing what was there). */
  draw(graph: DGraph, layout: Layout): void {
    // Measured now, while the page is laid out: after thousands of new boxes, reading it would
    // make the browser lay all of them out at once, text included, before fit() can zoom out.
    this.measure();
    this.graph = graph;
    this.size = { width: layout.width, height: layout.height };
    this.nodeLayer.replaceChildren();
    this.edgeLayer.replaceChildren();
    this.overlayLayer.replaceChildren();
    this.drawn.clear();
    this.lines.clear();
    this.litKey = "";
    const nodeFragment = document.createDocumentFragment();
    for (const node of graph.nodes) {
      const pos = layout.positions.get(node.id) ?? [0, 0];
      nodeFragment.append(this.drawNode(node, pos));
    }
    const edgeFragment = document.createDocumentFragment();
    for (const edge of graph.edges) {
      const a = graph.byId.get(edge.src);
      const b = graph.byId.get(edge.dst);
      const pa = layout.positions.get(edge.src);
      const pb = layout.positions.get(edge.dst);
      if (!a || !b || !pa || !pb) continue;
      const x1 = pa[0] + a.width, y1 = pa[1] + a.height / 2;
      const x2 = pb[0], y2 = pb[1] + b.height / 2;
      const mx = (x1 + x2) / 2;
      const d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      path.setAttribute("class", edge.cut ? "edge edge--cut" : "edge");
      path.setAttribute("marker-end", "url(#arrow)");
      path.dataset.edge = edge.id;
      edgeFragment.append(path);
      this.lines.set(edge.id, { d, cut: edge.cut });
      if (edge.label && edge.cut) {
        const label = document.createElementNS(SVG_NS, "text");
        label.setAttribute("x", String(mx));
        label.setAttribute("y", String((y1 + y2) / 2 - 4));
        label.setAttribute("class", "edge-label");
        label.textContent = `✂ ${edge.label}`;
        edgeFragment.append(label);
      }
    }
    this.edgeLayer.append(edgeFragment);
    this.nodeLayer.append(nodeFragment);
    this.select(this.selected);
  }

  private drawNode(node: DNode, [x, y]: [number, number]): HTMLElement {
    const box = document.createElement("div");
    box.className = `node node--${node.kind} node--${node.sub}`;
    box.style.left = `${x}px`;
    box.style.top = `${y}px`;
    box.style.width = `${node.width}px`;
    box.style.height = `${node.height}px`;
    box.tabIndex = 0;
    box.setAttribute("role", "button");
    box.setAttribute("aria-pressed", "false");
    box.setAttribute("aria-label", nodeName(node, "idle", "", ""));
    box.title = node.title;
    box.dataset.nodeId = node.id;
    box.dataset.state = "idle";
    const label = document.createElement("span");
    label.className = "node__label";
    label.textContent = node.label;
    box.append(label);
    const drawn: Drawn = { el: box, last: "" };
    if (node.kind === "tensor") {
      drawn.value = document.createElement("span");
      drawn.value.className = "node__value";
      drawn.grad = document.createElement("span");
      drawn.grad.className = "node__grad";
      box.append(drawn.value, drawn.grad);
    }
    box.addEventListener("click", (event) => {
      event.stopPropagation();
      this.callbacks.onSelect(node.id);
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        event.stopPropagation();
        this.callbacks.onSelect(node.id);
      }
    });
    box.addEventListener("mouseenter", () => this.callbacks.onHover(node.line));
    box.addEventListener("mouseleave", () => this.callbacks.onHover(null));
    this.drawn.set(node.id, drawn);
    return box;
  }

  /** Show one frame: node states, current values and gradients, edges in use. */
  show(frame: Frame): void {
    if (!this.graph) return;
    for (const node of this.graph.nodes) {
      const drawn = this.drawn.get(node.id);
      if (!drawn) continue;
      const ids = node.members ?? [node.id];
      let state = "idle";
      for (const id of ids) state = stronger(state, frame.state.get(id) ?? "idle");
      let valueText = "";
      let gradText = "";
      if (node.tensor) {
        const value = frame.value.get(node.id);
        valueText = value ? short(value) : "";
        const acc = frame.accumulation.get(node.id);
        const grad = frame.grad.get(node.id);
        // A non-leaf's gradient flows through it without being kept in its .grad.
        const label = node.tensor.is_leaf || node.tensor.retains_grad ? t("grad") : t("gradFlowing");
        if (frame.event?.kind === "accumulate" && frame.event.tensor === node.id && acc) {
          gradText = `${t("grad")} ${short(acc.before)} + ${short(acc.delta)}`;
        } else if (grad !== undefined) {
          gradText = `${label} ${short(grad)}`;
        } else if (node.tensor.requires_grad && node.tensor.is_leaf) {
          gradText = `${t("grad")} None`;
        }
      }
      const key = `${state}|${valueText}|${gradText}`;
      if (key === drawn.last) continue;
      drawn.last = key;
      if (drawn.el.dataset.state !== state) drawn.el.dataset.state = state;
      if (drawn.value && drawn.value.textContent !== valueText) drawn.value.textContent = valueText;
      if (drawn.grad && drawn.grad.textContent !== gradText) drawn.grad.textContent = gradText;
      drawn.el.setAttribute("aria-label", nodeName(node, state, valueText, gradText));
    }
    const active = [...frame.activeEdges].filter((id) => this.lines.has(id));
    const key = `${frame.phase}|${active.join(",")}`;
    if (key === this.litKey) return;
    this.litKey = key;
    const cls = frame.phase === "backward" ? "edge edge--back" : "edge edge--active";
    const fragment = document.createDocumentFragment();
    for (const id of active) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", this.lines.get(id)!.d);
      path.setAttribute("class", cls);
      path.dataset.edge = id;
      fragment.append(path);
    }
    this.overlayLayer.replaceChildren(fragment);
  }

  select(id: string | null): void {
    const old = this.selected ? this.drawn.get(this.selected)?.el : undefined;
    old?.classList.remove("node--selected");
    old?.setAttribute("aria-pressed", "false");
    this.selected = id;
    const now = id ? this.drawn.get(id)?.el : undefined;
    now?.classList.add("node--selected");
    now?.setAttribute("aria-pressed", "true");
  }

  /** Nodes made by ``line`` of the program glow (code → graph). */
  highlightLine(line: number | null): void {
    if (!this.graph) return;
    for (const node of this.graph.nodes) {
      this.drawn.get(node.id)?.el.classList.toggle("node--line", line !== null && node.line === line);
    }
  }

  /** Remember the graph's box on the page (for fit() and zooming). */
  private measure(): void {
    const box = this.root.getBoundingClientRect();
    this.viewport = { width: box.width, height: box.height };
  }

  /** Zoom so the whole graph fits; ``remeasure`` false right after draw(), which measured. */
  fit(remeasure = true): void {
    if (remeasure) this.measure();
    const box = this.viewport;
    const { width, height } = this.size;
    if (!box.width || !width) return;
    let scale = Math.min(2, 0.92 * Math.min(box.width / width, box.height / height));
    let tx = (box.width - width * scale) / 2;
    let ty = (box.height - height * scale) / 2;
    const stretch = width / height / (box.width / box.height);
    if (scale < READABLE_SCALE && (stretch > 2.5 || stretch < 1 / 2.5)) {
      // A long strip (a chain in the grad_fn view) fitted whole is a line of text too small to
      // read, or of no text at all: fit its narrow side instead, readable, and start at its
      // beginning (pan for the rest).
      const wide = stretch > 1;
      const readable = Math.min(0.8, 0.92 * (wide ? box.height / height : box.width / width));
      if (readable > scale && readable >= FAR_SCALE) {
        scale = readable;
        tx = wide ? 16 : (box.width - width * scale) / 2;
        ty = wide ? (box.height - height * scale) / 2 : 16;
      }
    }
    select(this.root).call(this.zoomer.transform, zoomIdentity.translate(tx, ty).scale(scale));
  }

  zoomBy(factor: number): void {
    select(this.root).call(this.zoomer.scaleBy, factor);
  }

  /** A standalone SVG document of the graph as shown now: colours read from the page. */
  toSvg(): string {
    const pad = 10;
    const width = this.size.width + 2 * pad;
    const height = this.size.height + 2 * pad;
    const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
    const rootStyle = getComputedStyle(this.root);
    const edgeColour = getComputedStyle(this.svg.querySelector(".edge") ?? this.root).stroke || "#999";
    const out: string[] = [
      `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">`,
      `<rect width="100%" height="100%" fill="${esc(rootStyle.backgroundColor || "#fff")}"/>`,
      `<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${esc(edgeColour)}"/></marker></defs>`,
      `<g transform="translate(${pad},${pad})">`,
    ];
    for (const [id, line] of this.lines) {
      const lit = this.overlayLayer.querySelector(`[data-edge="${CSS.escape(id)}"]`);
      const colour = lit ? getComputedStyle(lit).stroke : edgeColour;
      out.push(`<path d="${line.d}" fill="none" stroke="${esc(colour)}" stroke-width="1.8"${line.cut ? ' stroke-dasharray="6 4"' : ""} marker-end="url(#a)"/>`);
    }
    for (const [, drawn] of this.drawn) {
      const el = drawn.el;
      const style = getComputedStyle(el);
      const x = parseFloat(el.style.left), y = parseFloat(el.style.top);
      const w = parseFloat(el.style.width), h = parseFloat(el.style.height);
      const radius = parseFloat(style.borderTopLeftRadius) || 0;
      out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${Math.min(radius, h / 2)}" fill="${esc(style.backgroundColor)}" stroke="${esc(style.borderTopColor)}" stroke-width="2"/>`);
      const spans = Array.from(el.children) as HTMLElement[];
      const op = el.classList.contains("node--op");
      spans.forEach((span, i) => {
        const text = span.textContent ?? "";
        if (!text) return;
        const sStyle = getComputedStyle(span);
        const tx = op ? x + w / 2 : x + 7;
        const ty = op ? y + h / 2 + 4 : y + 15 + 16 * i;
        out.push(`<text x="${tx}" y="${ty}" font-size="${parseFloat(sStyle.fontSize) || 11}" fill="${esc(sStyle.color)}"${op ? ' text-anchor="middle"' : ""}${i === 0 ? ' font-weight="600"' : ""}>${esc(text)}</text>`);
      });
    }
    out.push("</g></svg>");
    return out.join("\n");
  }

  get extent(): { width: number; height: number } {
    return { width: this.size.width + 20, height: this.size.height + 20 };
  }
}

/** A box's accessible name: its kind, name, value and gradient as shown, and its state. */
function nodeName(node: DNode, state: string, valueText: string, gradText: string): string {
  const kind = t(node.kind === "op" && node.sub !== "module" ? "nodeOp" : (KIND_WORDS[node.sub] ?? "nodeNonleaf"));
  const name = node.kind === "op" && node.node ? node.title : node.label;
  const parts = [`${kind} ${name}`];
  if (valueText) parts.push(`${t("value")} ${valueText}`);
  if (gradText) parts.push(gradText);
  parts.push(t(STATE_WORDS[state] ?? "stateIdle"));
  return parts.join(", ");
}

const ORDER = ["idle", "computed", "grad-done", "active", "grad-active", "nan", "error"];

function stronger(a: string, b: string): string {
  return ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a;
}
