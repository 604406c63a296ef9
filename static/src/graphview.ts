// Draws the graph with D3 on SVG and shows a frame on it: states, values, gradients, active edges.
import { select, type Selection } from "d3-selection";
import { zoom, zoomIdentity, type ZoomBehavior } from "d3-zoom";
import "d3-transition";
import type { DGraph, DNode } from "./model.ts";
import type { Layout } from "./layout.ts";
import type { Frame } from "./playback.ts";
import { short } from "./format.ts";
import { t } from "./i18n.ts";

const SVG_NS = "http://www.w3.org/2000/svg";

export interface GraphCallbacks {
  onSelect: (id: string | null) => void;
  onHover: (line: number | null) => void;
}

interface Drawn { g: SVGGElement; value?: SVGTextElement; grad?: SVGTextElement; last: string }

export class GraphView {
  readonly svg: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly edgeLayer: SVGGElement;
  private readonly nodeLayer: SVGGElement;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private drawn = new Map<string, Drawn>();
  private edges = new Map<string, SVGPathElement>();
  private graph: DGraph | null = null;
  private size = { width: 0, height: 0 };
  private selected: string | null = null;
  private lit = new Set<string>();

  constructor(container: HTMLElement, private readonly callbacks: GraphCallbacks) {
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "graph");
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("aria-label", "autograd graph");
    const defs = document.createElementNS(SVG_NS, "defs");
    defs.innerHTML =
      '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker>';
    this.svg.append(defs);
    this.viewport = document.createElementNS(SVG_NS, "g");
    this.edgeLayer = document.createElementNS(SVG_NS, "g");
    this.nodeLayer = document.createElementNS(SVG_NS, "g");
    this.viewport.append(this.edgeLayer, this.nodeLayer);
    this.svg.append(this.viewport);
    container.append(this.svg);
    this.zoomer = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.05, 4])
      .on("zoom", (event) => this.viewport.setAttribute("transform", event.transform.toString()));
    (select(this.svg) as Selection<SVGSVGElement, unknown, null, undefined>).call(this.zoomer).on("dblclick.zoom", null);
    this.svg.addEventListener("click", (event) => {
      if (event.target === this.svg) callbacks.onSelect(null);
    });
  }

  /** Draw a laid-out graph (replacing what was there). */
  draw(graph: DGraph, layout: Layout): void {
    this.graph = graph;
    this.size = { width: layout.width, height: layout.height };
    this.nodeLayer.replaceChildren();
    this.edgeLayer.replaceChildren();
    this.drawn.clear();
    this.edges.clear();
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
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      path.setAttribute("class", edge.cut ? "edge edge--cut" : "edge");
      path.setAttribute("marker-end", "url(#arrow)");
      path.dataset.edge = edge.id;
      edgeFragment.append(path);
      this.edges.set(edge.id, path);
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

  private drawNode(node: DNode, [x, y]: [number, number]): SVGGElement {
    const g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("class", `node node--${node.kind} node--${node.sub}`);
    g.setAttribute("transform", `translate(${x},${y})`);
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.dataset.nodeId = node.id;
    g.dataset.state = "idle";
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = node.title;
    const shape = document.createElementNS(SVG_NS, "rect");
    shape.setAttribute("width", String(node.width));
    shape.setAttribute("height", String(node.height));
    shape.setAttribute("rx", node.kind === "op" ? String(node.height / 2) : "6");
    shape.setAttribute("class", "node__shape");
    g.append(title, shape);
    const drawn: Drawn = { g, last: "" };
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("class", "node__label");
    label.textContent = node.label;
    if (node.kind === "tensor") {
      label.setAttribute("x", "8");
      label.setAttribute("y", "16");
      const value = document.createElementNS(SVG_NS, "text");
      value.setAttribute("class", "node__value");
      value.setAttribute("x", "8");
      value.setAttribute("y", "33");
      const grad = document.createElementNS(SVG_NS, "text");
      grad.setAttribute("class", "node__grad");
      grad.setAttribute("x", "8");
      grad.setAttribute("y", "50");
      g.append(label, value, grad);
      drawn.value = value;
      drawn.grad = grad;
    } else {
      label.setAttribute("x", String(node.width / 2));
      label.setAttribute("y", String(node.height / 2 + 5));
      label.setAttribute("text-anchor", "middle");
      g.append(label);
    }
    g.addEventListener("click", (event) => {
      event.stopPropagation();
      this.callbacks.onSelect(node.id);
    });
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        event.stopPropagation();
        this.callbacks.onSelect(node.id);
      }
    });
    g.addEventListener("mouseenter", () => this.callbacks.onHover(node.line));
    g.addEventListener("mouseleave", () => this.callbacks.onHover(null));
    this.drawn.set(node.id, drawn);
    return g;
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
        if (frame.event?.kind === "accumulate" && frame.event.tensor === node.id && acc) {
          gradText = `${t("grad")} ${short(acc.before)} + ${short(acc.delta)}`;
        } else if (grad !== undefined) {
          gradText = `${t("grad")} ${short(grad)}`;
        } else if (node.tensor.requires_grad && node.tensor.is_leaf) {
          gradText = `${t("grad")} None`;
        }
      }
      if (node.kind === "tensor") {
        const room = Math.floor((node.width - 12) / 6.4);
        valueText = fit(valueText, room);
        gradText = fit(gradText, room);
      }
      const key = `${state}|${valueText}|${gradText}`;
      if (key === drawn.last) continue;
      drawn.last = key;
      drawn.g.dataset.state = state;
      if (drawn.value) drawn.value.textContent = valueText;
      if (drawn.grad) drawn.grad.textContent = gradText;
    }
    for (const id of this.lit) this.edges.get(id)?.classList.remove("edge--active", "edge--back");
    this.lit.clear();
    for (const id of frame.activeEdges) {
      const path = this.edges.get(id);
      if (path) {
        path.classList.add(frame.phase === "backward" ? "edge--back" : "edge--active");
        this.lit.add(id);
      }
    }
  }

  select(id: string | null): void {
    if (this.selected) this.drawn.get(this.selected)?.g.classList.remove("node--selected");
    this.selected = id;
    if (id) this.drawn.get(id)?.g.classList.add("node--selected");
  }

  /** Nodes made by ``line`` of the program glow (code → graph). */
  highlightLine(line: number | null): void {
    if (!this.graph) return;
    for (const node of this.graph.nodes) {
      this.drawn.get(node.id)?.g.classList.toggle("node--line", line !== null && node.line === line);
    }
  }

  fit(): void {
    const box = this.svg.getBoundingClientRect();
    if (!box.width || !this.size.width) return;
    const scale = Math.min(2, 0.92 * Math.min(box.width / this.size.width, box.height / this.size.height));
    const tx = (box.width - this.size.width * scale) / 2;
    const ty = (box.height - this.size.height * scale) / 2;
    select(this.svg).call(this.zoomer.transform, zoomIdentity.translate(tx, ty).scale(scale));
  }

  zoomBy(factor: number): void {
    select(this.svg).call(this.zoomer.scaleBy, factor);
  }

  /** A standalone SVG document of the graph as drawn now (styles inlined). */
  toSvg(css: string): string {
    const clone = this.svg.cloneNode(true) as SVGSVGElement;
    clone.setAttribute("xmlns", SVG_NS);
    clone.setAttribute("viewBox", `0 0 ${this.size.width + 20} ${this.size.height + 20}`);
    clone.setAttribute("width", String(this.size.width + 20));
    clone.setAttribute("height", String(this.size.height + 20));
    clone.querySelector("g")?.nextElementSibling?.setAttribute("transform", "translate(10,10)");
    const style = document.createElementNS(SVG_NS, "style");
    style.textContent = css;
    clone.prepend(style);
    return new XMLSerializer().serializeToString(clone);
  }

  get extent(): { width: number; height: number } {
    return { width: this.size.width + 20, height: this.size.height + 20 };
  }
}

/** Cut text to ``room`` characters (monospace), with an ellipsis; the inspector has the whole. */
function fit(text: string, room: number): string {
  return text.length <= room ? text : text.slice(0, Math.max(1, room - 1)) + "…";
}

const ORDER = ["idle", "computed", "grad-done", "active", "grad-active", "nan", "error"];

function stronger(a: string, b: string): string {
  return ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a;
}
