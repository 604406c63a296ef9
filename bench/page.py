"""How fast does the page draw and play a Trace, in headless Chromium?

Prints, for graphs of about 50, 500 and 5,000 drawn nodes: the time from the Trace arriving in
the page to the graph being laid out, drawn and painted; the longest main-thread task meanwhile
(layout runs in a Web Worker, so it should not block); and frames per second while playing the
500-node Trace at top speed.

    .venv/bin/python bench/page.py

Needs the front end built (make setup) and Chromium at /usr/bin/chromium. The Traces come from
the real tracer (in this process); the page is the real app served by the real server, with the
run request answered by the prepared Trace so that only the page is measured.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gradstage.schema import encode
from gradstage.tracer import trace_program
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def deep_mlp(layers: int) -> str:
    """A program whose graph grows with ``layers``: a deep stack of Linear + Tanh, one backward."""
    return f"""
import torch
import torch.nn as nn
torch.manual_seed(0)
blocks = []
for i in range({layers}):
    blocks += [nn.Linear(4, 4), nn.Tanh()]
model = nn.Sequential(*blocks)
x = torch.randn(2, 4)
loss = model(x).pow(2).mean()
loss.backward()
print(round(loss.item(), 4))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = Path(sys.executable).parent / "gradstage"
    proc = subprocess.Popen(
        [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRADSTAGE_RATE_LIMIT_PER_MINUTE": "0"},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


MEASURE = """
async () => {
  const app = document.getElementById("app");
  let longest = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
  });
  observer.observe({ type: "longtask", buffered: false });
  performance.clearMarks();
  const drawn = new Promise((resolve) =>
    document.addEventListener("gradstage:drawn", resolve, { once: true }));
  document.querySelector("button[aria-label='Run']").click();
  await drawn;
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const painted = performance.now();
  const start = performance.getEntriesByName("gradstage:trace")[0].startTime;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return {
    ms: painted - start, longest,
    nodes: Number(app.dataset.graphNodes), layout: Number(app.dataset.layoutMs),
  };
}
"""

FPS = """
async (seconds) => {
  let frames = 0;
  let worst = 0;
  let last = performance.now();
  const stop = last + seconds * 1000;
  await new Promise((resolve) => {
    const tick = (now) => {
      frames += 1;
      worst = Math.max(worst, now - last);
      last = now;
      if (now < stop) requestAnimationFrame(tick); else resolve();
    };
    requestAnimationFrame(tick);
  });
  return { fps: frames / seconds, worstFrame: worst };
}
"""


def measure(page: Page, url: str, trace_json: bytes) -> dict[str, float]:
    page.route(
        "**/api/trace",
        lambda route: route.fulfill(status=200, body=trace_json, content_type="application/json"),
    )
    page.goto(url + "/#lang=en")
    page.wait_for_selector("button[aria-label='Run']")
    page.wait_for_timeout(1500)  # the first lesson's own run settles
    result: dict[str, float] = page.evaluate(MEASURE)
    page.unroute("**/api/trace")
    return result


def main() -> None:
    sizes = {"~50": 6, "~500": 60, "~5,000": 620}
    traces: dict[str, bytes] = {}
    for label, layers in sizes.items():
        trace = trace_program(deep_mlp(layers), max_nodes=50_000, max_events=200_000)
        traces[label] = encode(trace)
        print(
            f"trace {label}: {len(trace.nodes)} autograd nodes, {len(trace.tensors)} tensors, "
            f"{len(trace.events)} events, {len(traces[label]) / 1024:.0f} KB"
        )
    proc, url = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for label, data in traces.items():
                runs = [measure(page, url, data) for _ in range(3)]
                best = min(runs, key=lambda r: r["ms"])
                print(
                    f"graph {label}: {best['nodes']} drawn nodes, trace → painted "
                    f"{best['ms']:.0f} ms (worker layout {best['layout']:.0f} ms), "
                    f"longest main-thread task {max(r['longest'] for r in runs):.0f} ms"
                )
            for speed in ("2", "16"):  # 2x is the page's default: 4 steps a second
                measure(page, url, traces["~500"])
                page.select_option("select.speed", speed)
                page.keyboard.press("Home")
                page.get_by_role("button", name="Play").click()
                fps = page.evaluate(FPS, 4)
                print(
                    f"playing the ~500-node trace at {speed}x: {fps['fps']:.0f} fps, "
                    f"worst frame {fps['worstFrame']:.0f} ms"
                )
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
