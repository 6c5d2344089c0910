// Drives `packem lsp` over stdio with vscode-jsonrpc, the JSON-RPC library under
// vscode-languageclient (installed in editors/vscode/node_modules), as an editor would.
//
//   node drive.mjs <packem binary> <project dir> <editors/vscode dir>
//
// The project must have `packem.json` with entries ["src/main.js"] and `src/main.js` importing
// `./missing.js`. Prints one JSON summary line on stdout (the Rust test `lsp_stdio` asserts on
// it) and exits 0 whenever it could print one; server output on stderr is kept in the summary.

import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [bin, projectArg, vscodeDir] = process.argv.slice(2);
if (!bin || !projectArg || !vscodeDir) {
    console.error('usage: node drive.mjs <packem binary> <project dir> <editors/vscode dir>');
    process.exit(2);
}
const require = createRequire(path.join(path.resolve(vscodeDir), 'package.json'));
const rpc = require('vscode-jsonrpc/node');

const DIAGNOSTICS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

const project = realpathSync(projectArg);
const mainPath = path.join(project, 'src', 'main.js');
const mainUri = pathToFileURL(mainPath).href;
const started = performance.now();
const ms = () => Math.round(performance.now() - started);

const summary = {
    rootUri: pathToFileURL(project).href,
    mainUri,
    serverInfo: null,
    capabilities: null,
    registrations: [],
    diagnostics: null,
    diagnosticsAfterMs: null,
    moduleGraph: null,
    shutdown: false,
    exitCode: null,
    signal: null,
    errors: [],
    stderrTail: '',
};

const sameFile = (uri, file) => {
    try {
        return realpathSync(fileURLToPath(uri)) === file;
    } catch {
        return false;
    }
};

const withTimeout = (promise, ms, what) =>
    Promise.race([
        promise,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref()),
    ]);

const child = spawn(bin, ['lsp'], {
    cwd: project,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
});
let stderr = '';
child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
});
const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
        summary.errors.push(`spawn: ${err.message}`);
        resolve({ code: null, signal: null });
    });
});

const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
);
connection.onError(([err]) => summary.errors.push(`connection: ${err?.message ?? err}`));

// Requests a server may send to a client.
connection.onRequest('client/registerCapability', (params) => {
    for (const r of params?.registrations ?? []) summary.registrations.push(r.method);
    return null;
});
connection.onRequest('client/unregisterCapability', () => null);
connection.onRequest('window/workDoneProgress/create', () => null);
connection.onRequest('workspace/configuration', (params) => (params?.items ?? []).map(() => null));
connection.onRequest('window/showMessageRequest', () => null);
connection.onRequest('workspace/codeLens/refresh', () => null);
connection.onRequest('workspace/diagnostic/refresh', () => null);
connection.onNotification('window/logMessage', () => {});
connection.onNotification('window/showMessage', () => {});
connection.onNotification('$/progress', () => {});

let gotDiagnostics;
const diagnosticsArrived = new Promise((resolve) => (gotDiagnostics = resolve));
connection.onNotification('textDocument/publishDiagnostics', (params) => {
    if (!sameFile(params.uri, mainPath)) return;
    // Keep the latest set; done once it reports the unresolved import.
    summary.diagnostics = params.diagnostics.map((d) => ({
        code: d.code ?? null,
        source: d.source ?? null,
        severity: d.severity ?? null,
        message: d.message,
        range: d.range,
    }));
    if (params.diagnostics.some((d) => d.code === 'UNRESOLVED_IMPORT')) {
        summary.diagnosticsAfterMs = ms();
        gotDiagnostics();
    }
});
connection.listen();

async function run() {
    const init = await withTimeout(
        connection.sendRequest('initialize', {
            processId: process.pid,
            clientInfo: { name: 'packem-lsp-stdio-test', version: '0' },
            rootUri: summary.rootUri,
            rootPath: project,
            workspaceFolders: [{ uri: summary.rootUri, name: path.basename(project) }],
            capabilities: {
                workspace: {
                    didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
                    workspaceFolders: true,
                    configuration: true,
                },
                textDocument: {
                    synchronization: { dynamicRegistration: false, didSave: true },
                    publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true },
                    documentLink: { dynamicRegistration: false, tooltipSupport: true },
                    definition: { dynamicRegistration: false, linkSupport: true },
                    hover: { dynamicRegistration: false, contentFormat: ['markdown', 'plaintext'] },
                    references: { dynamicRegistration: false },
                    codeLens: { dynamicRegistration: false },
                },
                window: { workDoneProgress: true },
                general: { positionEncodings: ['utf-16'] },
            },
            trace: 'off',
        }),
        REQUEST_TIMEOUT_MS,
        'initialize',
    );
    summary.serverInfo = init?.serverInfo ?? null;
    summary.capabilities = init?.capabilities ?? null;
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri: mainUri, languageId: 'javascript', version: 1, text: readFileSync(mainPath, 'utf8') },
    });

    await withTimeout(diagnosticsArrived, DIAGNOSTICS_TIMEOUT_MS, 'publishDiagnostics with UNRESOLVED_IMPORT for main.js');

    // The custom request the extension's "Show module graph" command sends.
    try {
        summary.moduleGraph = await withTimeout(
            connection.sendRequest('packem/moduleGraph', {}),
            REQUEST_TIMEOUT_MS,
            'packem/moduleGraph',
        );
    } catch (err) {
        summary.errors.push(`packem/moduleGraph: ${err?.message ?? err}`);
    }
}

try {
    await run();
} catch (err) {
    summary.errors.push(err?.message ?? String(err));
}

try {
    await withTimeout(connection.sendRequest('shutdown'), REQUEST_TIMEOUT_MS, 'shutdown');
    summary.shutdown = true;
    await connection.sendNotification('exit');
} catch (err) {
    summary.errors.push(err?.message ?? String(err));
}

let timer;
const outcome = await Promise.race([
    exited,
    new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), EXIT_TIMEOUT_MS);
    }),
]);
clearTimeout(timer);
if (outcome === null) {
    summary.errors.push(`the server did not exit within ${EXIT_TIMEOUT_MS} ms of "exit"; killed`);
    child.kill('SIGKILL');
    const killed = await exited;
    summary.signal = killed.signal;
} else {
    summary.exitCode = outcome.code;
    summary.signal = outcome.signal;
}
connection.dispose();
summary.stderrTail = stderr;
summary.elapsedMs = ms();
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(0);
