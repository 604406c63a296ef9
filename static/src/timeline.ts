// The player's controls and the scrubbable timeline with a tick per event.
import { button, el } from "./dom.ts";
import { t } from "./i18n.ts";
import { markers } from "./playback.ts";
import { nextSpeed, state, update } from "./store.ts";
import type { Trace } from "./types.ts";

/** The colour (a CSS variable of the theme) of each kind of event on the timeline. */
const TICK_COLOURS: Record<string, string> = {
  op: "--forward", backward: "--backward", node: "--backward", accumulate: "--backward",
  retain_grad: "--backward", hook: "--backward", zero_grad: "--muted", grad_set: "--muted",
  optimizer: "--param", update: "--param", clip: "--param", print: "--op",
  error: "--error", anomaly: "--error", warning: "--error",
};

export class Timeline {
  readonly root: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly back: HTMLButtonElement;
  private readonly forward: HTMLButtonElement;
  private readonly restart: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly range: HTMLInputElement;
  private readonly ticks: HTMLCanvasElement;
  private trace: Trace | null = null;
  private readonly position: HTMLElement;
  private readonly now: HTMLElement;
  private length = 0;

  constructor() {
    this.restart = button(t("restart"), "btn btn--icon", () => update({ step: -1, playing: false }), "Home");
    this.back = button(t("stepBack"), "btn btn--icon", () => this.stepBy(-1), "←");
    this.play = button(t("play"), "btn btn--primary btn--play", () => this.toggle(), "Space");
    this.forward = button(t("stepForward"), "btn btn--icon", () => this.stepBy(1), "→");
    this.speed = el("select", { class: "speed", "aria-label": t("speed") });
    for (const s of [0.5, 1, 2, 4, 8, 16]) this.speed.append(el("option", { value: String(s) }, `${s}×`));
    this.speed.addEventListener("change", () => update({ speed: Number(this.speed.value) }));
    this.range = el("input", { type: "range", min: "-1", max: "0", value: "-1", class: "scrub", "aria-label": t("timeline") });
    this.range.addEventListener("input", () => update({ step: Number(this.range.value), playing: false }));
    this.ticks = el("canvas", { class: "ticks", "aria-hidden": "true" });
    new ResizeObserver(() => this.paint()).observe(this.ticks);
    this.position = el("span", { class: "position" });
    this.now = el("p", { class: "now", "aria-live": "polite" });
    this.root = el("section", { class: "timeline" },
      el("div", { class: "timeline__controls" }, this.restart, this.back, this.play, this.forward, this.speed, this.position),
      el("div", { class: "timeline__track" }, this.ticks, this.range),
      this.now);
  }

  private stepBy(delta: number): void {
    update({ step: Math.max(-1, Math.min(this.length - 1, state.step + delta)), playing: false });
  }

  private toggle(): void {
    if (state.playing) update({ playing: false });
    else update({ playing: true, step: state.step >= this.length - 1 ? -1 : state.step });
  }

  /** Keyboard: space plays/pauses, arrows step, Home restarts, End jumps to the end. */
  handleKey(event: KeyboardEvent): boolean {
    if (event.key === " ") this.toggle();
    else if (event.key === "ArrowRight") this.stepBy(1);
    else if (event.key === "ArrowLeft") this.stepBy(-1);
    else if (event.key === "Home") update({ step: -1, playing: false });
    else if (event.key === "End") update({ step: this.length - 1, playing: false });
    else if (event.key === "+" || event.key === "=") update({ speed: nextSpeed(1) });
    else if (event.key === "-") update({ speed: nextSpeed(-1) });
    else return false;
    return true;
  }

  setTrace(trace: Trace | null): void {
    this.trace = trace;
    this.length = trace?.events.length ?? 0;
    this.range.max = String(Math.max(0, this.length - 1));
    this.paint();
  }

  /** Ticks on a canvas (one per event, coloured by kind) with markers: cheap for 10,000s of events. */
  paint(): void {
    const trace = this.trace;
    const box = this.ticks.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    this.ticks.width = width;
    this.ticks.height = height;
    const context = this.ticks.getContext("2d");
    if (!context) return;
    context.clearRect(0, 0, width, height);
    if (!trace || !this.length) return;
    const styles = getComputedStyle(this.root);
    const colour = (name: string) => styles.getPropertyValue(name).trim() || "#888";
    const palette: Record<string, string> = {};
    for (const [kind, name] of Object.entries(TICK_COLOURS)) palette[kind] = colour(name);
    const fallback = colour("--edge");
    const scale = width / this.length;
    const tick = Math.max(1, scale - (scale > 3 ? 1 : 0));
    for (const e of trace.events) {
      context.fillStyle = palette[e.kind] ?? fallback;
      context.fillRect(Math.floor(e.seq * scale), height * 0.3, tick, height * 0.7);
    }
    const m = markers(trace);
    const marks: [number[], string, number][] = [[m.iteration, colour("--fg"), 0.35], [m.backward, colour("--backward"), 0.8], [m.error, colour("--error"), 1]];
    for (const [steps, fill, alpha] of marks) {
      context.globalAlpha = alpha;
      context.fillStyle = fill;
      for (const s of steps) context.fillRect(Math.floor(s * scale), 0, Math.max(2 * ratio, tick), height);
    }
    context.globalAlpha = 1;
  }

  show(description: string): void {
    this.range.value = String(state.step);
    this.speed.value = String(state.speed);
    const label = state.playing ? t("pause") : t("play");
    this.play.textContent = label;
    this.play.setAttribute("aria-label", label);
    this.position.textContent = state.step < 0 ? t("start") : t("stepOf", { i: state.step + 1, n: this.length });
    this.now.textContent = description;
    // Announced when paused or stepping only: while playing it would be read out at every step.
    this.now.setAttribute("aria-live", state.playing ? "off" : "polite");
    this.range.setAttribute("aria-valuetext", `${this.position.textContent}: ${description}`);
    this.back.disabled = state.step < 0;
    this.forward.disabled = state.step >= this.length - 1;
  }

  relabel(): void {
    for (const [b, key] of [[this.restart, "restart"], [this.back, "stepBack"], [this.forward, "stepForward"]] as const) {
      b.textContent = t(key);
      b.setAttribute("aria-label", t(key));
    }
    this.speed.setAttribute("aria-label", t("speed"));
    this.range.setAttribute("aria-label", t("timeline"));
  }
}
