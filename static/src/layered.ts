// A layered (Sugiyama-style) left-to-right layout for autograd graphs, small and fast enough for
// thousands of nodes: layers by longest path (sources pulled next to their first use), crossings
// reduced by barycentre sweeps, then each node placed near its neighbours without overlapping.
// It replaces a general-purpose engine (elkjs, 1.4 MB) that was slower on big graphs. A graph in
// several pieces (the iterations of a loop whose detail was left out) is laid out piece by piece
// and the pieces packed in rows, instead of sharing columns and stacking into one tall strip.

export interface LNode { id: string; width: number; height: number }
export interface LEdge { src: string; dst: string }
export interface LResult { positions: Record<string, [number, number]>; width: number; height: number }

export interface LOptions { layerGap?: number; nodeGap?: number; sweeps?: number }

/** Rows of packed pieces aim at about this width : height (a wide screen's graph panel). */
const ASPECT = 1.6;
const PIECE_GAP = 48;

export function layered(nodes: LNode[], edges: LEdge[], options: LOptions = {}): LResult {
  const pieces = connectedPieces(nodes, edges);
  if (pieces.length <= 1) return layoutPiece(nodes, edges, options);
  const laid = pieces.map((piece) => ({ piece, result: layoutPiece(piece.nodes, piece.edges, options) }));
  let area = 0;
  let widest = 0;
  for (const { result } of laid) {
    area += (result.width + PIECE_GAP) * (result.height + PIECE_GAP);
    widest = Math.max(widest, result.width);
  }
  const rowWidth = Math.max(widest, Math.sqrt(area * ASPECT));
  const positions: Record<string, [number, number]> = {};
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let width = 0;
  for (const { result } of laid) {
    if (x > 0 && x + result.width > rowWidth) {
      x = 0;
      y += rowHeight + PIECE_GAP;
      rowHeight = 0;
    }
    for (const [id, [px, py]] of Object.entries(result.positions)) positions[id] = [x + px, y + py];
    width = Math.max(width, x + result.width);
    rowHeight = Math.max(rowHeight, result.height);
    x += result.width + PIECE_GAP;
  }
  return { positions, width, height: y + rowHeight };
}

/** The connected pieces of the graph (edges taken both ways), in the order of their first node. */
function connectedPieces(nodes: LNode[], edges: LEdge[]): { nodes: LNode[]; edges: LEdge[] }[] {
  const parent = new Map<string, string>();
  for (const node of nodes) parent.set(node.id, node.id);
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    while (parent.get(id) !== root) {
      const next = parent.get(id)!;
      parent.set(id, root);
      id = next;
    }
    return root;
  };
  for (const e of edges) {
    if (!parent.has(e.src) || !parent.has(e.dst)) continue;
    const a = find(e.src);
    const b = find(e.dst);
    if (a !== b) parent.set(b, a);
  }
  const byRoot = new Map<string, { nodes: LNode[]; edges: LEdge[] }>();
  for (const node of nodes) {
    const root = find(node.id);
    let piece = byRoot.get(root);
    if (!piece) byRoot.set(root, (piece = { nodes: [], edges: [] }));
    piece.nodes.push(node);
  }
  for (const e of edges) if (parent.has(e.src) && parent.has(e.dst)) byRoot.get(find(e.src))!.edges.push(e);
  return [...byRoot.values()];
}

function layoutPiece(nodes: LNode[], edges: LEdge[], options: LOptions): LResult {
  const layerGap = options.layerGap ?? 34;
  const nodeGap = options.nodeGap ?? 18;
  const n = nodes.length;
  const index = new Map<string, number>();
  nodes.forEach((node, i) => index.set(node.id, i));
  const succ: number[][] = Array.from({ length: n }, () => []);
  const pred: number[][] = Array.from({ length: n }, () => []);
  const seen = new Set<number>();
  for (const e of edges) {
    const a = index.get(e.src);
    const b = index.get(e.dst);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a * n + b;
    if (seen.has(key)) continue;
    seen.add(key);
    succ[a].push(b);
    pred[b].push(a);
  }

  // Topological order (Kahn); a cycle, which autograd graphs do not have, is broken where found.
  const indegree = pred.map((p) => p.length);
  const order: number[] = [];
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
  const placed = new Uint8Array(n);
  for (let head = 0; order.length < n; ) {
    if (head === queue.length) {
      const stuck = placed.findIndex((p) => p === 0);
      queue.push(stuck);
      indegree[stuck] = 0;
    }
    const v = queue[head++];
    if (placed[v]) continue;
    placed[v] = 1;
    order.push(v);
    for (const w of succ[v]) if (--indegree[w] === 0) queue.push(w);
  }
  const rank = new Int32Array(n);
  order.forEach((v, i) => (rank[v] = i));

  // Layers: longest path from the sources; then sources move right, next to their first consumer.
  const layer = new Int32Array(n);
  for (const v of order) for (const u of pred[v]) if (rank[u] < rank[v]) layer[v] = Math.max(layer[v], layer[u] + 1);
  for (const v of order) {
    if (pred[v].length === 0 && succ[v].length > 0) {
      let first = Infinity;
      for (const w of succ[v]) first = Math.min(first, layer[w]);
      layer[v] = Math.max(0, first - 1);
    }
  }
  let layerCount = 0;
  for (let i = 0; i < n; i++) layerCount = Math.max(layerCount, layer[i] + 1);
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  for (const v of order) layers[layer[v]].push(v);

  // Order within layers: barycentre of neighbours in the previous (then next) layer.
  const pos = new Float64Array(n);
  const renumber = (list: number[]) => list.forEach((v, i) => (pos[v] = i));
  layers.forEach(renumber);
  const sweeps = options.sweeps ?? (n > 2000 ? 2 : 6);
  const sortBy = (list: number[], neighbours: number[][]) => {
    const key = new Map<number, number>();
    for (const v of list) {
      let sum = 0;
      let count = 0;
      for (const u of neighbours[v]) {
        sum += pos[u];
        count++;
      }
      key.set(v, count ? sum / count : pos[v]);
    }
    list.sort((a, b) => key.get(a)! - key.get(b)! || pos[a] - pos[b]);
    renumber(list);
  };
  for (let s = 0; s < sweeps; s++) {
    for (let l = 1; l < layerCount; l++) sortBy(layers[l], pred);
    for (let l = layerCount - 2; l >= 0; l--) sortBy(layers[l], succ);
  }

  // x: one column per layer, as wide as its widest node.
  const columnX: number[] = [];
  let x = 0;
  for (const list of layers) {
    columnX.push(x);
    let widest = 0;
    for (const v of list) widest = Math.max(widest, nodes[v].width);
    x += widest + layerGap;
  }

  // y: stack each layer, then pull nodes toward their neighbours' centres, keeping the order.
  const y = new Float64Array(n);
  for (const list of layers) {
    let top = 0;
    for (const v of list) {
      y[v] = top;
      top += nodes[v].height + nodeGap;
    }
  }
  const centre = (v: number) => y[v] + nodes[v].height / 2;
  const place = (list: number[], neighbours: number[][]) => {
    const want = list.map((v) => {
      const near = neighbours[v];
      if (!near.length) return y[v];
      let sum = 0;
      for (const u of near) sum += centre(u);
      return sum / near.length - nodes[v].height / 2;
    });
    // Forward pass: no overlaps going down; backward pass: no overlaps going up; average them.
    const down = new Float64Array(list.length);
    let floor = -Infinity;
    list.forEach((v, i) => {
      down[i] = Math.max(want[i], floor);
      floor = down[i] + nodes[v].height + nodeGap;
    });
    const up = new Float64Array(list.length);
    let ceiling = Infinity;
    for (let i = list.length - 1; i >= 0; i--) {
      const v = list[i];
      up[i] = Math.min(want[i], ceiling - nodes[v].height - nodeGap);
      ceiling = up[i];
    }
    let prevBottom = -Infinity;
    list.forEach((v, i) => {
      const target = (down[i] + up[i]) / 2;
      y[v] = Math.max(target, prevBottom);
      prevBottom = y[v] + nodes[v].height + nodeGap;
    });
  };
  const passes = n > 2000 ? 2 : 4;
  for (let p = 0; p < passes; p++) {
    for (let l = 1; l < layerCount; l++) place(layers[l], pred);
    for (let l = layerCount - 2; l >= 0; l--) place(layers[l], succ);
  }

  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minY = Math.min(minY, y[i]);
    maxY = Math.max(maxY, y[i] + nodes[i].height);
  }
  if (!n) minY = maxY = 0;
  const positions: Record<string, [number, number]> = {};
  for (let i = 0; i < n; i++) positions[nodes[i].id] = [columnX[layer[i]], y[i] - minY];
  return { positions, width: Math.max(0, x - layerGap), height: maxY - minY };
}
