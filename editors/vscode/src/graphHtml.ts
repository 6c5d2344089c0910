// Renders a `packem/moduleGraph` result as a self-contained HTML page with an inline SVG.
// No `vscode` import: the page is plain text, tested with `node --test`.
//
// The page loads nothing: its Content-Security-Policy allows only the inline style and script
// that carry the nonce. Clicking a module posts `{ type: "open", uri }` to the extension.

import { layoutGraph } from './graphLayout';
import type { ModuleGraph } from './protocol';

const NODE_WIDTH = 200;
const NODE_HEIGHT = 30;
const LABEL_CHARS = 28;

export function escapeHtml(text: string): string {
    return text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

/** Keeps the end of a path (the file name matters most). */
export function shorten(label: string, max = LABEL_CHARS): string {
    return label.length <= max ? label : '…' + label.slice(label.length - max + 1);
}

type Kind = 'module' | 'entry' | 'external' | 'error';

interface DrawnNode {
    id: number;
    label: string;
    title: string;
    kind: Kind;
    format?: string;
    uri?: string;
}

/**
 * The nodes to draw: the graph's modules, plus one node per external package and one per
 * unresolved import, so that `to: null` edges are visible too.
 */
export function drawnGraph(graph: ModuleGraph): {
    nodes: DrawnNode[];
    edges: Array<{ from: number; to: number; kind: string; specifier: string }>;
} {
    const nodes: DrawnNode[] = graph.nodes.map((n) => ({
        id: n.id,
        label: n.path,
        title: `${n.path} (${n.format}${n.entry ? ', entry' : ''})`,
        kind: n.entry ? 'entry' : 'module',
        format: n.format,
        uri: n.uri,
    }));
    const known = new Set(graph.nodes.map((n) => n.id));
    let next = graph.nodes.reduce((m, n) => Math.max(m, n.id), -1) + 1;
    const externals = new Map<string, number>();
    const edges: Array<{ from: number; to: number; kind: string; specifier: string }> = [];
    for (const e of graph.edges) {
        if (!known.has(e.from)) continue;
        if (e.to !== null && known.has(e.to)) {
            edges.push({ from: e.from, to: e.to, kind: e.kind, specifier: e.specifier });
        } else if (e.error !== undefined || e.external === undefined) {
            const id = next++;
            nodes.push({
                id,
                label: `✗ ${e.specifier}`,
                title: `${e.specifier}: ${e.error ?? 'unresolved'}`,
                kind: 'error',
            });
            edges.push({ from: e.from, to: id, kind: e.kind, specifier: e.specifier });
        } else {
            let id = externals.get(e.external);
            if (id === undefined) {
                id = next++;
                externals.set(e.external, id);
                nodes.push({ id, label: e.external, title: `${e.external} (external)`, kind: 'external' });
            }
            edges.push({ from: e.from, to: id, kind: e.kind, specifier: e.specifier });
        }
    }
    return { nodes, edges };
}

export function renderGraphHtml(graph: ModuleGraph, nonce: string, cspSource: string, heading: string): string {
    const drawn = drawnGraph(graph);
    const layout = layoutGraph(
        drawn.nodes.map((n) => ({ id: n.id, entry: n.kind === 'entry' })),
        drawn.edges,
        { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT },
    );
    const byId = new Map(drawn.nodes.map((n) => [n.id, n]));
    const kindOf = new Map(drawn.edges.map((e) => [`${e.from}->${e.to}`, e]));

    const edgeSvg = layout.edges
        .map((e) => {
            const [first, ...rest] = e.points;
            const d = e.back
                ? `M${first.x},${first.y} C${rest.map((p) => `${p.x},${p.y}`).join(' ')}`
                : `M${first.x},${first.y} ${rest.map((p) => `L${p.x},${p.y}`).join(' ')}`;
            const info = kindOf.get(`${e.from}->${e.to}`);
            const classes = ['edge'];
            if (e.back) classes.push('back');
            if (info?.kind === 'dynamic-import') classes.push('dynamic');
            if (byId.get(e.to)?.kind === 'error') classes.push('error');
            const title = info ? `${escapeHtml(info.specifier)} (${escapeHtml(info.kind)})` : '';
            return `<path class="${classes.join(' ')}" d="${d}" marker-end="url(#arrow)"><title>${title}</title></path>`;
        })
        .join('\n');

    const nodeSvg = layout.nodes
        .map((p) => {
            const n = byId.get(p.id)!;
            const attrs = n.uri ? ` data-uri="${escapeHtml(n.uri)}" tabindex="0" role="link"` : '';
            return (
                `<g class="node ${n.kind}${n.format ? ' fmt-' + escapeHtml(n.format) : ''}"` +
                ` data-label="${escapeHtml(n.label.toLowerCase())}"${attrs}>` +
                `<title>${escapeHtml(n.title)}</title>` +
                `<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" rx="4"/>` +
                `<text x="${p.x + p.width / 2}" y="${p.y + p.height / 2}">${escapeHtml(shorten(n.label))}</text>` +
                `</g>`
            );
        })
        .join('\n');

    const modules = graph.nodes.length;
    const unresolved = drawn.nodes.filter((n) => n.kind === 'error').length;
    const externals = drawn.nodes.filter((n) => n.kind === 'external').length;
    const summary =
        `${modules} module${modules === 1 ? '' : 's'}, ${graph.edges.length} import${graph.edges.length === 1 ? '' : 's'}` +
        (externals ? `, ${externals} external` : '') +
        (unresolved ? `, ${unresolved} unresolved` : '');

    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(heading)}</title>
<style nonce="${nonce}">
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); margin: 0; }
  header { position: sticky; top: 0; display: flex; gap: 12px; align-items: center; padding: 8px 12px; background: var(--vscode-editor-background); border-bottom: 1px solid var(--vscode-panel-border, transparent); z-index: 1; }
  header h1 { font-size: 1.05em; margin: 0; font-weight: 600; }
  header .summary { opacity: .8; }
  header input { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 2px 6px; }
  header button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 2px 8px; cursor: pointer; }
  .legend span { margin-right: 10px; white-space: nowrap; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: middle; }
  main { padding: 8px; overflow: auto; }
  svg text { font-family: var(--vscode-editor-font-family, monospace); font-size: 12px; dominant-baseline: central; text-anchor: middle; fill: var(--vscode-foreground, #cccccc); pointer-events: none; }
  .node rect { fill: var(--vscode-editorWidget-background, #252526); stroke: var(--vscode-editorWidget-border, #555); stroke-width: 1; }
  .node[data-uri] { cursor: pointer; }
  .node[data-uri]:hover rect, .node[data-uri]:focus rect { stroke: var(--vscode-focusBorder, #007fd4); stroke-width: 2; outline: none; }
  .node.entry rect, .swatch.entry { stroke: var(--vscode-charts-blue, #3794ff); stroke-width: 2; background: var(--vscode-charts-blue, #3794ff); }
  .node.fmt-cjs rect, .swatch.cjs { fill: color-mix(in srgb, var(--vscode-charts-orange, #d18616) 25%, transparent); background: var(--vscode-charts-orange, #d18616); }
  .node.fmt-json rect, .swatch.json { fill: color-mix(in srgb, var(--vscode-charts-green, #89d185) 25%, transparent); background: var(--vscode-charts-green, #89d185); }
  .node.external rect, .swatch.external { stroke-dasharray: 4 3; fill: transparent; background: var(--vscode-disabledForeground, #888); }
  .node.error rect, .swatch.error { stroke: var(--vscode-errorForeground, #f48771); fill: transparent; background: var(--vscode-errorForeground, #f48771); }
  .node.dim { opacity: .25; }
  .node.match rect { stroke: var(--vscode-editor-findMatchBorder, #f9a825); stroke-width: 3; }
  .edge { fill: none; stroke: var(--vscode-editorLineNumber-foreground, #858585); stroke-width: 1.2; }
  .edge.dynamic { stroke-dasharray: 5 4; }
  .edge.back { stroke: var(--vscode-charts-purple, #b180d7); }
  .edge.error { stroke: var(--vscode-errorForeground, #f48771); }
  #arrow path { fill: var(--vscode-editorLineNumber-foreground, #858585); }
  .empty { padding: 24px; opacity: .8; }
</style>
</head>
<body>
<header>
  <h1>${escapeHtml(heading)}</h1>
  <span class="summary">${escapeHtml(summary)}</span>
  <input id="filter" type="search" placeholder="Highlight modules…" aria-label="Highlight modules">
  <button id="zoom-out" title="Zoom out">−</button><button id="zoom-in" title="Zoom in">+</button>
  <button id="refresh" title="Ask the server again">Refresh</button>
  <span class="legend">
    <span><i class="swatch entry"></i>entry</span><span><i class="swatch cjs"></i>CommonJS</span>
    <span><i class="swatch json"></i>JSON</span><span><i class="swatch external"></i>external</span>
    <span><i class="swatch error"></i>unresolved</span>
  </span>
</header>
<main>
${
    layout.nodes.length === 0
        ? '<p class="empty">No modules: is there a <code>packem.json</code> or a <code>package.json</code> with an entry at the workspace root?</p>'
        : `<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" data-width="${layout.width}" data-height="${layout.height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
${edgeSvg}
${nodeSvg}
</svg>`
}
</main>
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const svg = document.getElementById('graph');
  let zoom = 1;
  function applyZoom() {
    if (!svg) return;
    svg.setAttribute('width', String(Number(svg.dataset.width) * zoom));
    svg.setAttribute('height', String(Number(svg.dataset.height) * zoom));
  }
  document.getElementById('zoom-in').addEventListener('click', function () { zoom = Math.min(4, zoom * 1.25); applyZoom(); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom = Math.max(0.1, zoom / 1.25); applyZoom(); });
  document.getElementById('refresh').addEventListener('click', function () { vscode.postMessage({ type: 'refresh' }); });
  function open(node) { if (node && node.dataset.uri) vscode.postMessage({ type: 'open', uri: node.dataset.uri }); }
  document.querySelectorAll('.node[data-uri]').forEach(function (node) {
    node.addEventListener('click', function () { open(node); });
    node.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(node); } });
  });
  document.getElementById('filter').addEventListener('input', function (e) {
    const q = e.target.value.trim().toLowerCase();
    let first = null;
    document.querySelectorAll('.node').forEach(function (node) {
      const hit = q !== '' && node.dataset.label.indexOf(q) >= 0;
      node.classList.toggle('match', hit);
      node.classList.toggle('dim', q !== '' && !hit);
      if (hit && !first) first = node;
    });
    if (first) first.scrollIntoView({ block: 'center', inline: 'center' });
  });
})();
</script>
</body>
</html>
`;
}
