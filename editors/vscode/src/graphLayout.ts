// A layered ("Sugiyama-style") layout of a directed graph, kept free of any `vscode` import so
// that it can be unit-tested with plain `node --test`.
//
// 1. Cycles are broken by a depth-first search that starts at the entries: an edge to a node that
//    is still on the DFS stack is a *back* edge and is ignored for layering (it is still drawn).
// 2. Layers by longest path from the sources of the remaining DAG, so every forward edge points
//    strictly downwards.
// 3. Nodes inside a layer start in DFS discovery order and are then reordered by a few
//    barycenter sweeps (down, then up) to reduce edge crossings.
// 4. Coordinates: one row per layer, each row centered on the widest one.

/** Width reserved in a row for an edge that passes through it. */
const VIRTUAL_WIDTH = 8;

export interface LayoutNodeInput {
    id: number;
    /** Entries are visited first, so they end up in the top layer. */
    entry?: boolean;
}

export interface LayoutEdgeInput {
    from: number;
    /** `null` (an unresolved or external import) is ignored by the layout. */
    to: number | null;
}

export interface LayoutOptions {
    nodeWidth: number;
    nodeHeight: number;
    /** Horizontal space between two nodes of a layer. */
    nodeGap: number;
    /** Vertical space between two layers. */
    layerGap: number;
    /** Space around the drawing. */
    margin: number;
    /** Barycenter sweeps (each one is a down pass and an up pass). */
    sweeps: number;
}

export const defaultLayoutOptions: LayoutOptions = {
    nodeWidth: 180,
    nodeHeight: 32,
    nodeGap: 24,
    layerGap: 56,
    margin: 16,
    sweeps: 4,
};

export interface PositionedNode {
    id: number;
    layer: number;
    /** Position inside its layer, from the left. */
    order: number;
    /** Top-left corner. */
    x: number;
    y: number;
    width: number;
    height: number;
}

export interface PositionedEdge {
    from: number;
    to: number;
    /** Closes a cycle (or is a self-import): drawn against the layer direction. */
    back: boolean;
    /**
     * From the source's border to the target's border: a polyline for forward edges (two
     * points, plus two per layer crossed), four points of a cubic curve for back edges.
     */
    points: Array<{ x: number; y: number }>;
}

export interface GraphLayout {
    nodes: PositionedNode[];
    edges: PositionedEdge[];
    /** Node ids per layer, top to bottom, each left to right (without the virtual nodes). */
    layers: number[][];
    width: number;
    height: number;
}

/** Layer index per node: longest path from a source after removing the back edges. */
export interface Layering {
    layer: Map<number, number>;
    /** Keys `"from->to"` of the edges that were ignored to break cycles (self-loops included). */
    backEdges: Set<string>;
    /** Nodes in DFS discovery order (entries first). */
    discovery: number[];
}

export function edgeKey(from: number, to: number): string {
    return `${from}->${to}`;
}

/** Step 1 and 2: breaks cycles and assigns layers. */
export function assignLayers(nodes: readonly LayoutNodeInput[], edges: readonly LayoutEdgeInput[]): Layering {
    const ids: number[] = [];
    const known = new Set<number>();
    for (const n of nodes) {
        if (!known.has(n.id)) {
            known.add(n.id);
            ids.push(n.id);
        }
    }
    // Adjacency without duplicates, keeping the edges' order (it is the imports' order).
    const succ = new Map<number, number[]>();
    for (const id of ids) succ.set(id, []);
    const seenEdge = new Set<string>();
    for (const e of edges) {
        if (e.to === null || !known.has(e.from) || !known.has(e.to)) continue;
        const key = edgeKey(e.from, e.to);
        if (seenEdge.has(key)) continue;
        seenEdge.add(key);
        succ.get(e.from)!.push(e.to);
    }

    // Iterative DFS (module graphs can be deep enough to overflow a recursive one).
    const state = new Map<number, 'active' | 'done'>();
    const backEdges = new Set<string>();
    const discovery: number[] = [];
    const entries = new Set(nodes.filter((n) => n.entry).map((n) => n.id));
    const roots = [...ids.filter((id) => entries.has(id)), ...ids];
    for (const root of roots) {
        if (state.has(root)) continue;
        state.set(root, 'active');
        discovery.push(root);
        const stack: Array<{ id: number; next: number }> = [{ id: root, next: 0 }];
        while (stack.length > 0) {
            const top = stack[stack.length - 1];
            const out = succ.get(top.id)!;
            if (top.next >= out.length) {
                state.set(top.id, 'done');
                stack.pop();
                continue;
            }
            const to = out[top.next++];
            const s = state.get(to);
            if (s === 'active') {
                backEdges.add(edgeKey(top.id, to));
            } else if (s === undefined) {
                state.set(to, 'active');
                discovery.push(to);
                stack.push({ id: to, next: 0 });
            }
        }
    }

    // Longest path over the forward edges, in topological order (Kahn).
    const indegree = new Map<number, number>();
    for (const id of ids) indegree.set(id, 0);
    for (const [from, outs] of succ) {
        for (const to of outs) {
            if (!backEdges.has(edgeKey(from, to))) indegree.set(to, indegree.get(to)! + 1);
        }
    }
    const layer = new Map<number, number>();
    const queue = discovery.filter((id) => indegree.get(id) === 0);
    for (const id of queue) layer.set(id, 0);
    for (let i = 0; i < queue.length; i++) {
        const from = queue[i];
        for (const to of succ.get(from)!) {
            if (backEdges.has(edgeKey(from, to))) continue;
            layer.set(to, Math.max(layer.get(to) ?? 0, layer.get(from)! + 1));
            const d = indegree.get(to)! - 1;
            indegree.set(to, d);
            if (d === 0) queue.push(to);
        }
    }
    return { layer, backEdges, discovery };
}

/** Steps 1 to 4: the whole layout. Deterministic for the same input. */
export function layoutGraph(
    nodes: readonly LayoutNodeInput[],
    edges: readonly LayoutEdgeInput[],
    options: Partial<LayoutOptions> = {},
): GraphLayout {
    const opt: LayoutOptions = { ...defaultLayoutOptions, ...options };
    const { layer, backEdges, discovery } = assignLayers(nodes, edges);

    const layerCount = discovery.reduce((m, id) => Math.max(m, layer.get(id)! + 1), 0);
    const layers: number[][] = Array.from({ length: layerCount }, () => []);
    for (const id of discovery) layers[layer.get(id)!].push(id);

    // Neighbours across layers (both directions), for the barycenter heuristic.
    const up = new Map<number, number[]>();
    const down = new Map<number, number[]>();
    for (const id of discovery) {
        up.set(id, []);
        down.set(id, []);
    }
    // Forward edges that span several layers go through one virtual node per layer crossed, so
    // that crossing reduction sees them and they are drawn around the nodes, not over them.
    const virtual = new Set<number>();
    let nextVirtual = discovery.reduce((m, id) => Math.min(m, id), 0) - 1;
    const chains = new Map<string, number[]>();
    const link = (from: number, to: number) => {
        down.get(from)!.push(to);
        up.get(to)!.push(from);
    };
    const drawn: Array<{ from: number; to: number; back: boolean }> = [];
    const seen = new Set<string>();
    for (const e of edges) {
        if (e.to === null || !layer.has(e.from) || !layer.has(e.to)) continue;
        const key = edgeKey(e.from, e.to);
        if (seen.has(key)) continue;
        seen.add(key);
        const back = backEdges.has(key);
        drawn.push({ from: e.from, to: e.to, back });
        if (back) continue;
        const chain: number[] = [];
        let prev = e.from;
        for (let l = layer.get(e.from)! + 1; l < layer.get(e.to)!; l++) {
            const v = nextVirtual--;
            virtual.add(v);
            up.set(v, []);
            down.set(v, []);
            layers[l].push(v);
            chain.push(v);
            link(prev, v);
            prev = v;
        }
        link(prev, e.to);
        if (chain.length > 0) chains.set(key, chain);
    }

    const position = new Map<number, number>();
    const renumber = (row: number[]) => row.forEach((id, i) => position.set(id, i));
    layers.forEach(renumber);
    const reorder = (row: number[], neighbours: Map<number, number[]>) => {
        const key = new Map<number, number>();
        for (const id of row) {
            const ns = neighbours.get(id)!;
            key.set(id, ns.length === 0 ? position.get(id)! : ns.reduce((s, n) => s + position.get(n)!, 0) / ns.length);
        }
        // Stable: ties keep the current order.
        row.sort((a, b) => key.get(a)! - key.get(b)! || position.get(a)! - position.get(b)!);
        renumber(row);
    };
    for (let s = 0; s < opt.sweeps; s++) {
        for (let l = 1; l < layers.length; l++) reorder(layers[l], up);
        for (let l = layers.length - 2; l >= 0; l--) reorder(layers[l], down);
    }

    const widthOf = (id: number) => (virtual.has(id) ? VIRTUAL_WIDTH : opt.nodeWidth);
    const rowWidth = (row: number[]) =>
        row.length === 0 ? 0 : row.reduce((w, id) => w + widthOf(id), 0) + (row.length - 1) * opt.nodeGap;
    const contentWidth = layers.reduce((m, row) => Math.max(m, rowWidth(row)), 0);
    const placed = new Map<number, PositionedNode>();
    layers.forEach((row, l) => {
        let x = opt.margin + (contentWidth - rowWidth(row)) / 2;
        row.forEach((id, i) => {
            placed.set(id, {
                id,
                layer: l,
                order: i,
                x,
                y: opt.margin + l * (opt.nodeHeight + opt.layerGap),
                width: widthOf(id),
                height: opt.nodeHeight,
            });
            x += widthOf(id) + opt.nodeGap;
        });
    });

    const positionedEdges: PositionedEdge[] = drawn.map(({ from, to, back }) => {
        const a = placed.get(from)!;
        const b = placed.get(to)!;
        let points: Array<{ x: number; y: number }>;
        if (from === to) {
            // A small loop on the right side.
            const x = a.x + a.width;
            const y = a.y + a.height / 2;
            points = [
                { x, y: y - 6 },
                { x: x + 18, y: y - 6 },
                { x: x + 18, y: y + 6 },
                { x, y: y + 6 },
            ];
        } else if (back || b.layer <= a.layer) {
            // Against the flow: leave from the source's top, enter the target's bottom, bending
            // out to the side so it does not run over the forward edges.
            const start = { x: a.x + a.width * 0.75, y: a.y };
            const end = { x: b.x + b.width * 0.75, y: b.y + b.height };
            const side = Math.max(start.x, end.x) + opt.nodeGap / 2 + 8;
            points = [start, { x: side, y: start.y - opt.layerGap / 3 }, { x: side, y: end.y + opt.layerGap / 3 }, end];
        } else {
            points = [{ x: a.x + a.width / 2, y: a.y + a.height }];
            for (const v of chains.get(edgeKey(from, to)) ?? []) {
                const p = placed.get(v)!;
                points.push({ x: p.x + p.width / 2, y: p.y }, { x: p.x + p.width / 2, y: p.y + p.height });
            }
            points.push({ x: b.x + b.width / 2, y: b.y });
        }
        return { from, to, back, points };
    });

    const nodesOut = discovery.map((id) => placed.get(id)!);
    const height = layerCount === 0 ? 0 : layerCount * opt.nodeHeight + (layerCount - 1) * opt.layerGap;
    // Back edges and self-loops may bend to the right of the widest row.
    const extra = drawn.some((e) => e.back) ? opt.nodeGap + 24 : 0;
    return {
        nodes: nodesOut,
        edges: positionedEdges,
        layers: layers.map((row) => row.filter((id) => !virtual.has(id))),
        width: contentWidth + 2 * opt.margin + extra,
        height: height + 2 * opt.margin,
    };
}
