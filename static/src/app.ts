// The page: wires the editor, graph, timeline, inspector and panels to one state and one Trace.
import { button, el } from "./dom.ts";
import { Editor } from "./editor.ts";
import { GraphView } from "./graphview.ts";
import { hasKey, t, type I18nKey } from "./i18n.ts";
import { Inspector } from "./inspector.ts";
import { layout } from "./layout.ts";
import { buildGraph, defaultCollapsed, type DGraph } from "./model.ts";
import { chartView, consoleView } from "./panels.ts";
import { Player, type Frame } from "./playback.ts";
import { describe } from "./describe.ts";
import { choose, keepCodeInHash, langOf, readHash, state, subscribe, toHash, update, type State } from "./store.ts";
import { Timeline } from "./timeline.ts";
import { resolvePointer } from "./pointers.ts";
import { downloadHtml, downloadPng, downloadSvg, downloadText } from "./downloads.ts";
import type { Boot, Lesson, Trace, TraceEvent } from "./types.ts";

const boot = readBoot();
const embed = boot.page === "embed";
const workerUrl = workerLocation();

/** The layout worker: next to this script, or (in an exported file) inlined in the page. */
function workerLocation(): string {
  const inline = document.getElementById("gradstage-worker");
  if (inline?.textContent) return URL.createObjectURL(new Blob([inline.textContent], { type: "text/javascript" }));
  return new URL("layout.worker.js", import.meta.url).href;
}

let trace: Trace | null = boot.trace;
let player: Player | null = trace ? new Player(trace) : null;
let graph: DGraph | null = null;
let collapsed = new Set<string>();
let frame: Frame | null = null;
let lesson: Lesson | null = boot.lesson;
let running = false;
let runError: string | null = null;
let drawToken = 0;
let lastSideKey = "";
let startStep: number | null = null;
let startSelected: string | null = null;

function readBoot(): Boot {
  const node = document.getElementById("gradstage-boot");
  const data = JSON.parse(node?.textContent || "{}") as Partial<Boot>;
  return {
    page: data.page === "embed" ? "embed" : "app",
    lesson: data.lesson ?? null,
    trace: data.trace ?? null,
    api: data.api === undefined ? "/api" : data.api,
    lessons: data.lessons ?? [],
    groups: data.groups ?? {},
    source: data.source,
    nonce: data.nonce ?? null,
  };
}

// ---------------------------------------------------------------- layout of the page

const root = document.getElementById("app") ?? document.body;
root.replaceChildren();

const runButton = button(t("run"), "btn btn--primary btn--run", () => void run(), "Ctrl/⌘ + Enter");
const lessonSelect = el("select", { class: "lesson-select", "aria-label": t("lessons") });
const viewButtons = {
  flow: button(t("viewFlow"), "btn btn--toggle", () => update({ view: "flow" })),
  grad_fn: button(t("viewGradFn"), "btn btn--toggle", () => update({ view: "grad_fn" })),
};
const langSelect = el("select", { class: "lang-select", "aria-label": t("language") },
  el("option", { value: "en" }, "English"), el("option", { value: "zh-CN" }, "简体中文"));
langSelect.addEventListener("change", () => choose({ lang: langSelect.value as State["lang"] }));
const themeButton = button(t("theme"), "btn", () => choose({ theme: state.theme === "dark" ? "light" : "dark" }));
const shareButton = button(t("share"), "btn", () => openShare());
const downloadButton = button(t("download"), "btn", () => openDownloads());
const fitButton = button(t("fit"), "btn btn--icon", () => graphView.fit());
const zoomInButton = button("+", "btn btn--icon", () => graphView.zoomBy(1.3));
const zoomOutButton = button("−", "btn btn--icon", () => graphView.zoomBy(1 / 1.3));
const collapseButton = button(t("modules"), "btn btn--small", () => toggleModules());
const status = el("p", { class: "status", role: "status" });
const notice = el("p", { class: "notice", hidden: "" });
const lessonBox = el("section", { class: "lesson" });
const legend = el("section", { class: "legend" });
const side = el("div", { class: "side" });
const editorHost = el("div", { class: "editor" });
const graphHost = el("div", { class: "graph-host" });
const inspector = new Inspector();
const timeline = new Timeline();

const lessonsLink = el("a", { class: "nav-link", href: "/lessons" }, t("lessons"));
const header = el("header", { class: "topbar" },
  el("a", { class: "brand", href: "/" }, "gradstage"),
  lessonsLink,
  lessonSelect,
  el("div", { class: "toggle", role: "group", "aria-label": t("view") }, viewButtons.flow, viewButtons.grad_fn),
  el("span", { class: "spacer" }),
  langSelect, themeButton, shareButton, downloadButton);

const editorPane = el("section", { class: "pane pane--code" },
  el("div", { class: "pane__bar" }, el("h2", {}, t("program")), runButton), editorHost, status, lessonBox);
const graphPane = el("section", { class: "pane pane--graph" },
  el("div", { class: "graph-tools" }, fitButton, zoomInButton, zoomOutButton, collapseButton), notice, graphHost, legend);

if (embed) {
  const open = el("a", { class: "embed__open", target: "_blank", rel: "noopener" }, "gradstage ↗");
  if (boot.api === null) open.hidden = true;
  const embedBar = el("div", { class: "embed__bar" }, viewButtons.flow, viewButtons.grad_fn, el("span", { class: "spacer" }), runButton, open);
  root.append(embedBar, el("div", { class: "embed__main" }, editorPane, graphPane), timeline.root, side);
  subscribe(() => { open.href = `${location.origin}/${toHash(true)}`; });
} else {
  root.append(header, el("main", { class: "workspace" }, editorPane, graphPane, side), timeline.root);
}
root.classList.add("app--ready");
if (boot.api === null) {
  // an exported file or a notebook: no server to link to, nothing to share by URL
  header.querySelector(".brand")?.removeAttribute("href");
  lessonsLink.hidden = true;
  shareButton.hidden = true;
}

const graphView = new GraphView(graphHost, {
  onSelect: (id) => update({ selected: id }),
  onHover: (line) => editor?.mark({ hover: line }),
});

// ---------------------------------------------------------------- initial state

const fromHash = readHash(location.hash);
// ?lang= (as the lesson index links) applies when the fragment does not say otherwise
const queryLang = langOf(new URLSearchParams(location.search).get("lang"));
if (!fromHash.lang && queryLang) fromHash.lang = queryLang;
const initialSource = fromHash.source ?? boot.source ?? lesson?.source ?? "";
if (fromHash.lesson && fromHash.lesson !== lesson?.id && !fromHash.source) {
  // the fragment names another lesson: fetch it after start-up
  queueMicrotask(() => void openLesson(fromHash.lesson as string, false));
}
update({ ...fromHash, source: initialSource, lesson: fromHash.source ? null : (lesson?.id ?? null) });
startStep = fromHash.step ?? null;
startSelected = fromHash.selected ?? null;

let editor: Editor | null = null;
if (state.editor !== "hidden") {
  editor = new Editor(editorHost, state.source, state.editor === "readonly" || boot.api === null, {
    onRun: () => void run(),
    onHoverLine: (line) => graphView.highlightLine(line),
    onChange: (source) => update({ source }),
  }, boot.nonce);
  editorHost.after(editor.hint);
} else {
  editorPane.hidden = true;
  root.classList.add("app--no-editor");
}
runButton.hidden = boot.api === null; // an exported file or a notebook: nothing to run on

for (const item of boot.lessons) {
  lessonSelect.append(el("option", { value: item.id }, item.title[state.lang] ?? item.title.en ?? item.id));
}
lessonSelect.prepend(el("option", { value: "" }, "—"));
lessonSelect.hidden = boot.lessons.length === 0; // an exported file or a notebook: no lessons to pick
lessonSelect.value = state.lesson ?? "";
// Chromium fires change at each arrow key on a closed select: a lesson picked by keyboard is
// opened on Enter or when focus leaves, not each one passed on the way.
let browsingLessons = false;
const BROWSE_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"]);
lessonSelect.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    browsingLessons = false;
    pickLesson();
  } else if (event.key === "Escape") {
    browsingLessons = false;
    lessonSelect.value = state.lesson ?? "";
  } else if (event.altKey || event.key === " ") {
    browsingLessons = false; // opens the list, where a choice is made on purpose
  } else if (BROWSE_KEYS.has(event.key) || event.key.length === 1) {
    browsingLessons = true;
  }
});
lessonSelect.addEventListener("change", () => { if (!browsingLessons) pickLesson(); });
lessonSelect.addEventListener("blur", () => {
  if (!browsingLessons) return;
  browsingLessons = false;
  pickLesson();
});

/** Open the lesson the picker shows, after asking before an edited program is replaced. */
function pickLesson(): void {
  const id = lessonSelect.value;
  if (!id || (id === state.lesson && !editorChanged())) return;
  if (editorChanged() && state.source.trim() && !confirm(t("discardEdits"))) {
    lessonSelect.value = state.lesson ?? "";
    return;
  }
  void openLesson(id, true);
}

// ---------------------------------------------------------------- running a program

async function run(): Promise<void> {
  if (running || boot.api === null) return;
  // Code pasted from web pages often carries no-break spaces, which Python refuses: plain spaces.
  let source = editor ? editor.source : state.source;
  if (source.includes("\u00a0")) {
    source = source.replace(/\u00a0/g, " ");
    if (editor) editor.source = source;
  }
  running = true;
  runError = null;
  runButton.disabled = true;
  runButton.textContent = t("running");
  status.textContent = t("running");
  update({ source, playing: false });
  renderLesson();
  try {
    const response = await fetch(`${boot.api}/trace`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: source }),
    });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const body = (await response.json()) as { error?: { message?: string } };
        if (body.error?.message) message = body.error.message;
      } catch {
        // not JSON: keep the status line
      }
      const retry = response.headers.get("Retry-After");
      runError = retry ? `${message} (retry in ${retry} s)` : message;
    } else {
      const next = (await response.json()) as Trace;
      await setTrace(next, true);
    }
  } catch {
    runError = t("networkError");
  } finally {
    running = false;
    runButton.disabled = false;
    runButton.textContent = t("run");
    renderStatus();
  }
}

async function openLesson(id: string, runIt: boolean): Promise<void> {
  if (boot.api === null) return;
  try {
    const response = await fetch(`${boot.api}/lessons/${encodeURIComponent(id)}`);
    if (!response.ok) return;
    lesson = (await response.json()) as Lesson;
  } catch {
    runError = t("networkError");
    renderStatus();
    return;
  }
  keepCodeInHash(false);
  update({ lesson: lesson.id, source: lesson.source, step: -1, selected: null, playing: false });
  if (editor) editor.source = lesson.source;
  renderLesson();
  if (runIt) await run();
}

async function setTrace(next: Trace, fromRun: boolean): Promise<void> {
  performance.mark("gradstage:trace");
  trace = next;
  player = new Player(next);
  frame = null;
  inspector.setTrace(next);
  timeline.setTrace(next);
  collapsed = defaultCollapsed(next);
  const errorLine = next.error?.line ?? null;
  editor?.mark({ error: errorLine, focus: null });
  if (fromRun) {
    // The first Trace of a link or an embed starts at the step and node the URL names (step=…, node=…).
    const start = startStep !== null ? Math.min(startStep, next.events.length - 1) : -1;
    const selected = startSelected;
    startStep = null;
    startSelected = null;
    update({ step: start, selected, playing: state.autoplay && next.events.length > 0 });
  }
  await redraw();
  renderTruncation();
  renderFrame();
}

async function redraw(): Promise<void> {
  if (!trace) return;
  const token = ++drawToken;
  const next = buildGraph(trace, state.view, collapsed, t("scalar"));
  collapseButton.hidden = defaultCollapsed(trace, 0).size === 0;
  const started = performance.now();
  const positions = await layout(next, workerUrl);
  if (token !== drawToken || !positions) return;
  graph = next;
  graphView.draw(next, positions);
  graphView.fit(false);
  root.dataset.layoutMs = String(Math.round(performance.now() - started));
  root.dataset.graphNodes = String(next.nodes.length);
  if (frame) graphView.show(frame);
  performance.mark("gradstage:drawn");
  document.dispatchEvent(new CustomEvent("gradstage:drawn", { detail: { nodes: next.nodes.length } }));
}

function toggleModules(): void {
  if (!trace) return;
  collapsed = collapsed.size ? new Set() : defaultCollapsed(trace, 0);
  void redraw();
}

// ---------------------------------------------------------------- showing a frame

function renderFrame(): void {
  if (!player || !trace) {
    timeline.setTrace(null);
    timeline.show(t("emptyTrace"));
    side.replaceChildren(inspector.root, consoleView(null, null, false));
    inspector.show(null, null);
    postHeight();
    return;
  }
  frame = player.at(state.step);
  if (graph) graphView.show(frame);
  graphView.select(state.selected ? (graph?.owner.get(state.selected) ?? state.selected) : null);
  const atEnd = state.step >= trace.events.length - 1;
  timeline.show(describe(frame.event, trace));
  const focus = frame.event?.line ?? null;
  editor?.mark({ focus, error: atEnd || frame.errorLine !== null ? (trace.error?.line ?? null) : null });
  // The side panels change less often than the graph: rebuild them only when what they show moved.
  const sideKey = `${state.selected}|${frame.stdout.length}|${frame.iteration}|${atEnd}|${frame.errorLine}|${state.lang}`;
  if (!state.playing || sideKey !== lastSideKey || state.selected) {
    inspector.show(state.selected, frame);
    if (sideKey !== lastSideKey || !state.playing) {
      const chart = chartView(trace, frame);
      side.replaceChildren(inspector.root, consoleView(frame, trace, atEnd));
      // The console follows the newest output (it is drawn anew at each step).
      const printed = side.querySelector<HTMLElement>(".console__out");
      if (printed) printed.scrollTop = printed.scrollHeight;
      if (chart) side.append(chart);
    }
    lastSideKey = sideKey;
  }
  root.dataset.step = String(state.step);
  root.dataset.events = String(trace.events.length);
  postHeight();
}

function renderTruncation(): void {
  const cut = trace?.truncated;
  // Each skipped event says which iterations it stands for (a program may have several loops).
  const all = (trace?.events ?? []).filter((e) => e.kind === "skipped");
  const parts: string[] = [];
  const range = (e: TraceEvent) => (e.first === e.last ? String(e.first) : `${String(e.first)}–${String(e.last)}`);
  const count = (list: TraceEvent[]) => list.reduce((n, e) => n + Object.values((e.counts as Record<string, number>) ?? {}).reduce((a, b) => a + b, 0), 0);
  const curve = (trace?.series ?? []).some((s) => s.source === "loss" && s.y.length > 1);
  // Iterations of the top loop, then steps of a loop inside it (an epoch's mini-batches),
  // each range said once.
  const outer = all.filter((e) => e.loop_line == null);
  if (outer.length) {
    parts.push(t(curve ? "truncatedCurve" : "truncated", { n: count(outer), ranges: outer.map(range).join(", ") }));
  }
  const inner = all.filter((e) => e.loop_line != null);
  if (inner.length) {
    const ranges = [...new Set(inner.map((e) => `${range(e)} (${t("line")} ${String(e.loop_line)})`))];
    parts.push(t("truncatedSteps", { n: count(inner), ranges: ranges.join(", ") }));
  }
  const limit = cut?.limit_hit;
  if (limit) {
    const counts: Record<string, number | undefined> = {
      max_events: cut.events_dropped, max_nodes: cut.nodes_dropped, max_tensors: cut.tensors_dropped,
      stdout_bytes: cut.stdout_bytes_dropped, trace_bytes: cut.events_dropped,
    };
    const key = `limit_${limit}`;
    // A limit this page does not know (a newer server) is still named.
    parts.push(hasKey(key) ? t(key, { n: counts[limit] ?? 0 }) : limit);
  }
  notice.textContent = parts.join(" ");
  notice.hidden = !parts.length;
}

function renderStatus(): void {
  status.classList.toggle("status--error", Boolean(runError));
  if (runError) status.textContent = runError;
  else if (trace?.error) status.textContent = t("errorAt", { line: trace.error.line ?? "?" }) + ` — ${trace.error.type}`;
  else if (trace) status.textContent = t("statusCounts", { events: trace.events.length, nodes: trace.nodes.length });
  else status.textContent = t("emptyTrace");
}

function renderLesson(): void {
  lessonBox.replaceChildren();
  lessonSelect.value = state.lesson ?? "";
  const named = lesson && state.lesson === lesson.id ? (lesson.title[state.lang] ?? lesson.title.en) : null;
  document.title = named ? `${named} — gradstage` : `gradstage — ${t("tagline")}`;
  if (!lesson || state.lesson !== lesson.id || embed) return;
  const lang = state.lang;
  lessonBox.append(
    el("h2", { class: "lesson__title" }, lesson.title[lang] ?? lesson.title.en),
    el("p", { class: "lesson__text" }, lesson.explanation[lang] ?? lesson.explanation.en),
  );
  if (editorChanged()) lessonBox.append(el("p", { class: "lesson__note" }, t("lessonEdited")));
  // Pointers name moments of the lesson's own program: once it is edited they may not exist.
  if (lesson.pointers.length && !editorChanged()) {
    const list = el("ol", { class: "watch" });
    for (const pointer of lesson.pointers) {
      const item = el("li", {}, button(pointer.text[lang] ?? pointer.text.en, "watch__item", () => jumpTo(pointer.id)));
      list.append(item);
    }
    lessonBox.append(el("h3", {}, t("watch")), list);
  }
}

function jumpTo(pointerId: string): void {
  const pointer = lesson?.pointers.find((p) => p.id === pointerId);
  if (!pointer || !trace) return;
  const found = resolvePointer(trace, pointer.at);
  if (!found) return;
  update({ step: found.step, playing: false, selected: found.select ?? state.selected });
}

function renderLegend(): void {
  const items: [string, I18nKey][] = [
    ["node--leaf", "legendLeaf"], ["node--param", "legendParam"], ["node--nonleaf", "legendNonleaf"],
    ["node--constant", "legendConstant"], ["node--detached", "legendDetached"], ["node--op", "legendOp"],
  ];
  const list = el("ul", { class: "legend__list" });
  for (const [cls, key] of items) list.append(el("li", {}, el("span", { class: `legend__swatch ${cls}` }), t(key)));
  list.append(el("li", {}, el("span", { class: "legend__swatch legend__swatch--cut" }), t("legendCut")));
  legend.replaceChildren(el("h2", {}, t("legend")), list);
}

/** The theme button shows the theme it switches to; its name starts with that text ("Dark theme"). */
function labelTheme(): void {
  const mode = state.theme === "dark" ? t("light") : t("dark");
  themeButton.textContent = mode;
  themeButton.setAttribute("aria-label", t("themeName", { mode }));
}

function relabel(): void {
  document.documentElement.lang = state.lang;
  runButton.textContent = running ? t("running") : t("run");
  labelTheme();
  editor?.relabel();
  graphView.relabel();
  const labelled: [HTMLButtonElement, I18nKey, boolean][] = [
    [runButton, "run", false], [viewButtons.flow, "viewFlow", true], [viewButtons.grad_fn, "viewGradFn", true],
    [shareButton, "share", true], [downloadButton, "download", true], [fitButton, "fit", true],
    [zoomInButton, "zoomIn", false], [zoomOutButton, "zoomOut", false], [collapseButton, "modules", true],
  ];
  for (const [b, key, text] of labelled) {
    b.setAttribute("aria-label", t(key));
    if (text) b.textContent = t(key);
  }
  editorPane.querySelector("h2")!.textContent = t("program");
  lessonsLink.textContent = t("lessons");
  lessonsLink.href = `/lessons?lang=${state.lang}`;
  langSelect.value = state.lang;
  langSelect.setAttribute("aria-label", t("language"));
  lessonSelect.setAttribute("aria-label", t("lessons"));
  for (const option of Array.from(lessonSelect.options)) {
    const item = boot.lessons.find((l) => l.id === option.value);
    if (item) option.textContent = item.title[state.lang] ?? item.title.en;
  }
  timeline.relabel();
  renderLegend();
  renderLesson();
  renderStatus();
}

// ---------------------------------------------------------------- share and downloads

/** A modal dialog: the page behind is inert, Escape closes it, and focus goes back to its opener. */
function dialog(title: string, ...body: HTMLElement[]): void {
  const opener = document.activeElement as HTMLElement | null;
  const close = button(t("close"), "btn", () => box.close());
  const box = el("dialog", { class: "dialog", "aria-label": title },
    el("div", { class: "dialog__body" }, el("h2", {}, title), ...body, close));
  // A click on the backdrop lands on the <dialog> itself (its body fills it).
  box.addEventListener("click", (event) => { if (event.target === box) box.close(); });
  box.addEventListener("close", () => {
    box.remove();
    if (opener?.isConnected) opener.focus();
  });
  document.body.append(box);
  box.showModal();
  close.focus();
}

function copyField(label: string, text: string): HTMLElement {
  const area = el("textarea", { class: "copy__text", readonly: "", rows: "3", "aria-label": label });
  area.value = text;
  const copy = button(label, "btn", () => {
    area.select();
    void navigator.clipboard?.writeText(text).catch(() => document.execCommand("copy"));
    copy.textContent = t("copied");
    copy.setAttribute("aria-label", t("copied"));
  });
  return el("div", { class: "copy" }, area, copy);
}

function permalink(): string {
  return `${location.origin}${location.pathname === "/embed" ? "/" : location.pathname}${toHash(true)}`;
}

function embedSnippet(): string {
  const src = state.lesson && !editorChanged()
    ? `${location.origin}/embed/${state.lesson}#${toHash(false).slice(1)}`
    : `${location.origin}/embed${toHash(true)}`;
  return `<iframe src="${src.replace(/"/g, "&quot;")}" width="100%" height="840" style="border:0" loading="lazy" title="gradstage"></iframe>`;
}

function editorChanged(): boolean {
  return !lesson || lesson.source !== state.source;
}

function openShare(): void {
  keepCodeInHash(true);
  history.replaceState(null, "", toHash(true));
  dialog(t("share"), copyField(t("copyLink"), permalink()), copyField(t("copyEmbed"), embedSnippet()));
}

function baseName(): string {
  return state.lesson ?? "gradstage";
}

function openDownloads(): void {
  const list = el("div", { class: "downloads" },
    button(t("downloadTrace"), "btn", () => trace && downloadText(`${baseName()}.trace.json`, JSON.stringify(trace), "application/json")),
    button(t("downloadSvg"), "btn", () => downloadSvg(graphView, `${baseName()}.svg`)),
    button(t("downloadPng"), "btn", () => void downloadPng(graphView, `${baseName()}.png`)),
    button(t("downloadHtml"), "btn", () => trace && void downloadHtml(trace, state.source, `${baseName()}.html`)),
  );
  dialog(t("download"), list);
}

// ---------------------------------------------------------------- playback loop

let lastTick = 0;
let carry = 0;
const reducedMotion = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;

function tick(now: number): void {
  if (!state.playing || !player) return;
  const perSecond = 2 * state.speed;
  carry += ((now - lastTick) / 1000) * perSecond;
  lastTick = now;
  const steps = Math.floor(carry);
  if (steps > 0) {
    carry -= steps;
    const next = Math.min(player.length - 1, state.step + steps);
    update({ step: next, playing: next < player.length - 1 });
  }
  if (state.playing) requestAnimationFrame(tick);
}

function startPlaying(): void {
  lastTick = performance.now();
  carry = 1; // the first step shows at once
  requestAnimationFrame(tick);
}

// ---------------------------------------------------------------- state → view

subscribe((s, changed) => {
  if (changed.has("theme")) {
    document.documentElement.dataset.theme = s.theme;
    labelTheme();
    editor?.setTheme(s.theme);
    timeline.paint();
  }
  if (changed.has("lang")) {
    relabel();
    if (trace?.tensors.some((x) => !x.name && !x.shape.length)) void redraw(); // boxes labelled "scalar"
  }
  if (changed.has("view")) {
    viewButtons.flow.setAttribute("aria-pressed", String(s.view === "flow"));
    viewButtons.grad_fn.setAttribute("aria-pressed", String(s.view === "grad_fn"));
    void redraw();
  }
  if (changed.has("playing") && s.playing) startPlaying();
  if (changed.has("step") || changed.has("selected") || changed.has("playing") || changed.has("lang") || changed.has("speed")) {
    renderFrame();
  }
  if (changed.has("selected") && s.selected) {
    const item = trace?.tensors.find((x) => x.id === s.selected) ?? trace?.nodes.find((x) => x.id === s.selected);
    if (item?.line) editor?.mark({ focus: item.line });
  }
  if (changed.has("lesson")) renderLesson();
});

document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement | null;
  if (target?.closest(".cm-editor, input, select, textarea, .dialog")) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target?.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
  if (timeline.handleKey(event)) event.preventDefault();
});

// ---------------------------------------------------------------- embed: tell the parent our height

let lastHeight = 0;
function postHeight(): void {
  if (!embed || window.parent === window) return;
  // The content's own height, not the document's: that is never less than the iframe, so an
  // iframe made too tall could never be shrunk to fit.
  const height = Math.ceil(root.getBoundingClientRect().height);
  if (height === lastHeight) return;
  lastHeight = height;
  window.parent.postMessage({ type: "gradstage:height", height, href: location.href }, "*");
}
if (embed) {
  new ResizeObserver(() => postHeight()).observe(root);
  root.classList.add("app--embed");
}

// ---------------------------------------------------------------- start

document.documentElement.dataset.theme = state.theme;
editor?.setTheme(state.theme);
viewButtons.flow.setAttribute("aria-pressed", String(state.view === "flow"));
viewButtons.grad_fn.setAttribute("aria-pressed", String(state.view === "grad_fn"));
relabel();
if (reducedMotion) root.classList.add("app--reduced-motion");
window.addEventListener("resize", () => graphView.fit());

if (trace && !fromHash.source) {
  startStep = null;
  startSelected = null;
  void setTrace(trace, false).then(() => {
    if (state.autoplay) update({ playing: true, step: state.step >= trace!.events.length - 1 ? -1 : state.step });
  });
} else if (boot.api !== null && state.source.trim()) {
  void run();
} else {
  renderFrame();
}
renderStatus();

// for tests and the notebook view: the current Trace and state, read-only
(window as unknown as { gradstage: unknown }).gradstage = {
  get trace() { return trace; },
  get state() { return { ...state }; },
  seek(step: number) { update({ step, playing: false }); },
};
