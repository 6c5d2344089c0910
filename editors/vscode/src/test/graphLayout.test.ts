// Run with `npm test` (tsc, then `node --test out/test/`).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { assignLayers, edgeKey, layoutGraph } from '../graphLayout';

const layersOf = (l: { layers: number[][] }) => l.layers.map((row) => [...row].sort((a, b) => a - b));

function assertNoOverlap(layout: ReturnType<typeof layoutGraph>) {
    for (const a of layout.nodes) {
        for (const b of layout.nodes) {
            if (a.id >= b.id) continue;
            const apart =
                a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
            assert.ok(apart, `nodes ${a.id} and ${b.id} overlap`);
        }
    }
    for (const n of layout.nodes) {
        assert.ok(n.x >= 0 && n.y >= 0, `node ${n.id} is inside the drawing`);
        assert.ok(n.x + n.width <= layout.width && n.y + n.height <= layout.height, `node ${n.id} fits`);
    }
}

test('a diamond DAG is layered by longest path', () => {
    // 0 -> 1 -> 3, 0 -> 2 -> 3, and a shortcut 0 -> 3 that must not pull 3 up.
    const nodes = [{ id: 0, entry: true }, { id: 1 }, { id: 2 }, { id: 3 }];
    const edges = [
        { from: 0, to: 1 },
        { from: 0, to: 2 },
        { from: 1, to: 3 },
        { from: 2, to: 3 },
        { from: 0, to: 3 },
    ];
    const layout = layoutGraph(nodes, edges);
    assert.deepEqual(layersOf(layout), [[0], [1, 2], [3]]);
    assert.equal(layout.edges.length, 5);
    assert.ok(layout.edges.every((e) => !e.back));
    // Every forward edge points downwards.
    for (const e of layout.edges) {
        assert.ok(e.points[0].y < e.points[e.points.length - 1].y, `${e.from}->${e.to} goes down`);
    }
    assertNoOverlap(layout);
    // The shortcut 0 -> 3 passes layer 1 beside nodes 1 and 2, not through them.
    const shortcut = layout.edges.find((e) => e.from === 0 && e.to === 3)!;
    assert.equal(shortcut.points.length, 4);
    const through = shortcut.points[1];
    for (const n of layout.nodes.filter((n) => n.layer === 1)) {
        assert.ok(through.x < n.x || through.x > n.x + n.width, `the shortcut misses node ${n.id}`);
    }
});

test('a cycle is broken at the edge that returns to the entry', () => {
    // entry 0 -> 1 -> 2 -> 0, plus 2 -> 3.
    const nodes = [{ id: 2 }, { id: 1 }, { id: 0, entry: true }, { id: 3 }];
    const edges = [
        { from: 0, to: 1 },
        { from: 1, to: 2 },
        { from: 2, to: 0 },
        { from: 2, to: 3 },
    ];
    const { layer, backEdges } = assignLayers(nodes, edges);
    assert.deepEqual([...backEdges], [edgeKey(2, 0)]);
    assert.deepEqual(
        [0, 1, 2, 3].map((id) => layer.get(id)),
        [0, 1, 2, 3],
    );
    const layout = layoutGraph(nodes, edges);
    const back = layout.edges.filter((e) => e.back);
    assert.deepEqual(
        back.map((e) => [e.from, e.to]),
        [[2, 0]],
    );
    // The back edge leaves upwards.
    const pts = back[0].points;
    assert.ok(pts[0].y > pts[pts.length - 1].y);
    assertNoOverlap(layout);
});

test('self-imports, duplicate edges, unresolved targets and unknown nodes are tolerated', () => {
    const nodes = [{ id: 0, entry: true }, { id: 1 }, { id: 1 }];
    const edges = [
        { from: 0, to: 0 },
        { from: 0, to: 1 },
        { from: 0, to: 1 },
        { from: 0, to: null },
        { from: 1, to: 42 },
    ];
    const layout = layoutGraph(nodes, edges);
    assert.deepEqual(layersOf(layout), [[0], [1]]);
    assert.deepEqual(
        layout.edges.map((e) => [e.from, e.to, e.back]),
        [
            [0, 0, true],
            [0, 1, false],
        ],
    );
});

test('barycenter sweeps remove a crossing that discovery order creates', () => {
    // Discovery gives rows [0, 1] and [2, 3]: 0->3 crosses 1->2. Swapping 2 and 3 uncrosses it.
    const nodes = [{ id: 0, entry: true }, { id: 1, entry: true }, { id: 2 }, { id: 3 }];
    const edges = [
        { from: 0, to: 2 },
        { from: 0, to: 3 },
        { from: 1, to: 2 },
    ];
    const crossings = (layout: ReturnType<typeof layoutGraph>) => {
        const x = new Map(layout.nodes.map((n) => [n.id, n.x]));
        let count = 0;
        for (const a of edges) {
            for (const b of edges) {
                const top = x.get(a.from)! - x.get(b.from)!;
                const bottom = x.get(a.to)! - x.get(b.to)!;
                if (top * bottom < 0) count++;
            }
        }
        return count / 2;
    };
    assert.equal(crossings(layoutGraph(nodes, edges, { sweeps: 0 })), 1);
    assert.equal(crossings(layoutGraph(nodes, edges)), 0);
});

test('nodes without an entry still get laid out, and the empty graph is empty', () => {
    const layout = layoutGraph(
        [{ id: 5 }, { id: 6 }],
        [
            { from: 5, to: 6 },
            { from: 6, to: 5 },
        ],
    );
    assert.equal(layout.nodes.length, 2);
    assert.equal(layout.edges.filter((e) => e.back).length, 1);
    assertNoOverlap(layout);
    const empty = layoutGraph([], []);
    assert.deepEqual(empty.layers, []);
    assert.deepEqual(empty.nodes, []);
});

test('a long chain does not overflow the stack', () => {
    const n = 20000;
    const nodes = Array.from({ length: n }, (_, id) => ({ id, entry: id === 0 }));
    const edges = Array.from({ length: n - 1 }, (_, i) => ({ from: i, to: i + 1 }));
    const { layer } = assignLayers(nodes, edges);
    assert.equal(layer.get(n - 1), n - 1);
});
