// Lays the graph out off the main thread, so a big graph never freezes the page.
import { layered } from "./layered.ts";

interface Request { id: number; nodes: { id: string; width: number; height: number }[]; edges: { id: string; src: string; dst: string }[] }

self.onmessage = (message: MessageEvent<Request>) => {
  const { id, nodes, edges } = message.data;
  const started = performance.now();
  try {
    const result = layered(nodes, edges);
    (self as unknown as Worker).postMessage({ id, ...result, ms: performance.now() - started });
  } catch (error) {
    (self as unknown as Worker).postMessage({ id, error: String(error) });
  }
};
