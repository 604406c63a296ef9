// Lays the graph out left to right with ELK's layered algorithm, off the main thread.
import ELK from "elkjs/lib/elk.bundled.js";

interface Request { id: number; nodes: { id: string; width: number; height: number }[]; edges: { id: string; src: string; dst: string }[] }

const elk = new ELK();

self.onmessage = async (message: MessageEvent<Request>) => {
  const { id, nodes, edges } = message.data;
  const started = performance.now();
  const big = nodes.length > 1500;
  try {
    const graph = await elk.layout({
      id: "root",
      layoutOptions: {
        "elk.algorithm": "layered",
        "elk.direction": "RIGHT",
        "elk.spacing.nodeNode": "18",
        "elk.layered.spacing.nodeNodeBetweenLayers": "42",
        "elk.edgeRouting": big ? "POLYLINE" : "SPLINES",
        "elk.layered.nodePlacement.strategy": big ? "SIMPLE" : "NETWORK_SIMPLEX",
        "elk.layered.crossingMinimization.strategy": "LAYER_SWEEP",
        "elk.layered.thoroughness": big ? "1" : "7",
        "elk.separateConnectedComponents": "true",
      },
      children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
      edges: edges.map((e) => ({ id: e.id, sources: [e.src], targets: [e.dst] })),
    });
    const positions: Record<string, [number, number]> = {};
    for (const c of graph.children ?? []) positions[c.id] = [c.x ?? 0, c.y ?? 0];
    (self as unknown as Worker).postMessage({ id, positions, width: graph.width ?? 0, height: graph.height ?? 0, ms: performance.now() - started });
  } catch (error) {
    (self as unknown as Worker).postMessage({ id, error: String(error) });
  }
};
