// Run with `npm test` (tsc, then `node --test out/test/`).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { drawnGraph, escapeHtml, renderGraphHtml, shorten } from '../graphHtml';
import type { ModuleGraph } from '../protocol';

const graph: ModuleGraph = {
    nodes: [
        { id: 0, uri: 'file:///p/src/main.js', path: 'src/main.js', format: 'esm', entry: true },
        { id: 1, uri: 'file:///p/src/<b>.js', path: 'src/<b>.js', format: 'cjs', entry: false },
    ],
    edges: [
        { from: 0, to: 1, specifier: './<b>.js', kind: 'import-statement' },
        { from: 1, to: 0, specifier: './main.js', kind: 'require-call' },
        { from: 0, to: null, specifier: './missing.js', kind: 'import-statement', error: 'not found' },
        { from: 0, to: null, specifier: 'react', kind: 'import-statement', external: 'react' },
        { from: 1, to: null, specifier: 'react', kind: 'require-call', external: 'react' },
    ],
};

test('unresolved imports and externals become extra nodes; externals are shared', () => {
    const d = drawnGraph(graph);
    assert.deepEqual(
        d.nodes.map((n) => [n.id, n.kind]),
        [
            [0, 'entry'],
            [1, 'module'],
            [2, 'error'],
            [3, 'external'],
        ],
    );
    assert.equal(d.edges.length, 5);
    assert.deepEqual(
        d.edges.filter((e) => e.to === 3).map((e) => e.from),
        [0, 1],
    );
});

test('the page is self-contained, escaped and locked down by a nonce', () => {
    const html = renderGraphHtml(graph, 'NONCE123', 'vscode-webview://x', 'Module graph');
    assert.match(html, /default-src 'none'/);
    assert.match(html, /script-src 'nonce-NONCE123'/);
    assert.match(html, /<script nonce="NONCE123">/);
    assert.match(html, /<style nonce="NONCE123">/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'loads nothing from the network');
    assert.doesNotMatch(html, /src\/<b>/, 'labels are escaped');
    assert.match(html, /src\/&lt;b&gt;\.js/);
    assert.match(html, /data-uri="file:\/\/\/p\/src\/main\.js"/);
    assert.match(html, /class="edge back/);
    assert.match(html, /2 modules, 5 imports, 1 external, 1 unresolved/);
});

test('an empty graph explains itself', () => {
    const html = renderGraphHtml({ nodes: [], edges: [] }, 'n', 's', 'Module graph');
    assert.match(html, /No modules/);
    assert.doesNotMatch(html, /<svg id="graph"/);
});

test('helpers', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(shorten('abc', 5), 'abc');
    assert.equal(shorten('src/very/long/path.js', 8), '…path.js');
});
