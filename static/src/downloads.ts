// Files the page can hand to the user: the Trace, the graph as SVG or PNG, a standalone player.
import type { GraphView } from "./graphview.ts";
import type { Trace } from "./types.ts";

function save(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadText(name: string, text: string, type: string): void {
  save(name, new Blob([text], { type }));
}

export function svgText(view: GraphView): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + view.toSvg();
}

export function downloadSvg(view: GraphView, name: string): void {
  save(name, new Blob([svgText(view)], { type: "image/svg+xml" }));
}

export async function pngBlob(view: GraphView, scale = 2): Promise<Blob> {
  const { width, height } = view.extent;
  const image = new Image();
  const url = URL.createObjectURL(new Blob([svgText(view)], { type: "image/svg+xml" }));
  try {
    image.src = url;
    await image.decode();
    const limit = 16_000;
    const s = Math.min(scale, limit / Math.max(width, 1), limit / Math.max(height, 1));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * s));
    canvas.height = Math.max(1, Math.round(height * s));
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no 2D canvas");
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function downloadPng(view: GraphView, name: string): Promise<void> {
  save(name, await pngBlob(view));
}

function inlineScript(text: string): string {
  // "</script" inside a script would end it early; "<!--" could open an HTML comment state.
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

function inlineJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/** One HTML file with the Trace, the script, the worker and the styles inlined: plays from file://. */
export async function standaloneHtml(trace: Trace, source: string, title: string): Promise<string> {
  const inline: Record<string, string | null | undefined> = {
    // inside an exported file the scripts and styles are already in the page
    "layout.worker.js": document.getElementById("gradstage-worker")?.textContent,
    "app.js": document.querySelector("script[type=module]:not([src])")?.textContent,
    "app.css": document.querySelector("head > style")?.textContent,
  };
  const asset = async (name: string) => {
    const text = inline[name];
    if (text) return text;
    const response = await fetch(new URL(name, import.meta.url));
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    return response.text();
  };
  const [script, worker, css] = await Promise.all([asset("app.js"), asset("layout.worker.js"), asset("app.css")]);
  const boot = { page: "app", api: null, trace, lesson: null, lessons: [], groups: {}, source };
  const safeTitle = title.replace(/[<>&"]/g, "");
  return [
    "<!doctype html>",
    '<html lang="en" data-page="app">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${safeTitle} — gradstage</title>`,
    `<style>${css.replace(/<\/(style)/gi, "<\\/$1")}</style>`,
    `<script type="application/json" id="gradstage-boot">${inlineJson(boot)}</script>`,
    `<script type="text/plain" id="gradstage-worker">${inlineScript(worker)}</script>`,
    `<script type="module">${inlineScript(script)}</script>`,
    "</head>",
    '<body><div id="app" class="app app--app"></div></body>',
    "</html>",
  ].join("\n");
}

export async function downloadHtml(trace: Trace, source: string, name: string): Promise<void> {
  const html = await standaloneHtml(trace, source, name.replace(/\.html$/, ""));
  save(name, new Blob([html], { type: "text/html" }));
}
