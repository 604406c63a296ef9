// Talks to the layout worker: one request at a time, newest wins.
import type { DGraph } from "./model.ts";

export interface Layout { positions: Map<string, [number, number]>; width: number; height: number; ms: number }

let worker: Worker | null = null;
let counter = 0;
const waiting = new Map<number, (layout: Layout | null) => void>();

function getWorker(url: string): Worker {
  if (!worker) {
    worker = new Worker(url);
    worker.onmessage = (message: MessageEvent) => {
      const data = message.data as { id: number; positions?: Record<string, [number, number]>; width?: number; height?: number; ms?: number };
      const resolve = waiting.get(data.id);
      waiting.delete(data.id);
      if (!resolve) return;
      if (!data.positions) return resolve(null);
      resolve({ positions: new Map(Object.entries(data.positions)), width: data.width ?? 0, height: data.height ?? 0, ms: data.ms ?? 0 });
    };
  }
  return worker;
}

export function layout(graph: DGraph, workerUrl: string): Promise<Layout | null> {
  const id = ++counter;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    getWorker(workerUrl).postMessage({
      id,
      nodes: graph.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
      edges: graph.edges.map((e) => ({ id: e.id, src: e.src, dst: e.dst })),
    });
  });
}
