// The layout: every edge points left to right, no two nodes of a column overlap, all nodes placed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { layered, type LEdge, type LNode } from "../../static/src/layered.ts";

function chainWithLeaves(ops: number): { nodes: LNode[]; edges: LEdge[] } {
  const nodes: LNode[] = [{ id: "x", width: 132, height: 58 }];
  const edges: LEdge[] = [];
  let prev = "x";
  for (let i = 0; i < ops; i++) {
    nodes.push({ id: `op${i}`, width: 64, height: 34 }, { id: `w${i}`, width: 132, height: 58 }, { id: `t${i}`, width: 132, height: 58 });
    edges.push({ src: prev, dst: `op${i}` }, { src: `w${i}`, dst: `op${i}` }, { src: `op${i}`, dst: `t${i}` });
    prev = `t${i}`;
  }
  return { nodes, edges };
}

function checkLayout(nodes: LNode[], edges: LEdge[]): void {
  const { positions, width, height } = layered(nodes, edges);
  assert.equal(Object.keys(positions).length, nodes.length);
  const size = new Map(nodes.map((n) => [n.id, n]));
  for (const e of edges) {
    const [xa] = positions[e.src];
    const [xb] = positions[e.dst];
    assert.ok(xa + size.get(e.src)!.width <= xb, `${e.src} -> ${e.dst} must point right`);
  }
  const columns = new Map<number, [number, number][]>();
  for (const n of nodes) {
    const [x, y] = positions[n.id];
    assert.ok(x >= 0 && y >= 0 && x + n.width <= width + 1e-6 && y + n.height <= height + 1e-6, `${n.id} inside the box`);
    const column = columns.get(x) ?? [];
    column.push([y, y + n.height]);
    columns.set(x, column);
  }
  for (const column of columns.values()) {
    column.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < column.length; i++) assert.ok(column[i][0] >= column[i - 1][1], "no overlap in a column");
  }
}

test("a chain of ops with a weight each lays out left to right without overlaps", () => {
  const { nodes, edges } = chainWithLeaves(12);
  checkLayout(nodes, edges);
});

test("a leaf sits in the column just before the op that first uses it", () => {
  const { nodes, edges } = chainWithLeaves(5);
  const { positions } = layered(nodes, edges);
  const columnsOf = [...new Set(Object.values(positions).map(([x]) => x))].sort((a, b) => a - b);
  const column = (id: string) => columnsOf.indexOf(positions[id][0]);
  assert.equal(column("w4"), column("op4") - 1);
});

test("a diamond and duplicate edges are fine, and a cycle does not hang", () => {
  const nodes = ["a", "b", "c", "d"].map((id) => ({ id, width: 50, height: 20 }));
  checkLayout(nodes, [{ src: "a", dst: "b" }, { src: "a", dst: "c" }, { src: "b", dst: "d" }, { src: "c", dst: "d" }, { src: "c", dst: "d" }]);
  const cyclic = layered(nodes, [{ src: "a", dst: "b" }, { src: "b", dst: "a" }]);
  assert.equal(Object.keys(cyclic.positions).length, 4);
});

test("five thousand nodes are laid out", () => {
  const { nodes, edges } = chainWithLeaves(1700);
  checkLayout(nodes, edges);
});

test("an empty graph has an empty box", () => {
  assert.deepEqual(layered([], []), { positions: {}, width: 0, height: 0 });
});

test("a graph in many pieces is packed in rows, not stacked into one tall strip", () => {
  const nodes: LNode[] = [];
  const edges: LEdge[] = [];
  for (let piece = 0; piece < 115; piece++) {
    for (let i = 0; i < 3; i++) nodes.push({ id: `p${piece}n${i}`, width: 112, height: 58 });
    edges.push({ src: `p${piece}n0`, dst: `p${piece}n1` }, { src: `p${piece}n1`, dst: `p${piece}n2` });
  }
  nodes.push({ id: "alone", width: 112, height: 58 });
  const { positions, width, height } = layered(nodes, edges);
  assert.equal(Object.keys(positions).length, nodes.length);
  assert.ok(width / height > 0.5 && width / height < 4, `aspect ${width}:${height}`);
  for (const e of edges) assert.ok(positions[e.src][0] < positions[e.dst][0], `${e.src} -> ${e.dst} must point right`);
  const boxes = nodes.map((n) => [positions[n.id][0], positions[n.id][1], n.width, n.height]);
  for (let i = 0; i < boxes.length; i++) {
    const [x, y, w, h] = boxes[i];
    assert.ok(x >= 0 && y >= 0 && x + w <= width + 1e-6 && y + h <= height + 1e-6, `${nodes[i].id} inside the box`);
    for (let j = i + 1; j < boxes.length; j++) {
      const [x2, y2, w2, h2] = boxes[j];
      assert.ok(x + w <= x2 || x2 + w2 <= x || y + h <= y2 || y2 + h2 <= y, `${nodes[i].id} and ${nodes[j].id} overlap`);
    }
  }
});
