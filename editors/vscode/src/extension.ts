// The packem VS Code extension: starts `packem lsp` over stdio and adds two commands on top of
// the standard LSP features (diagnostics, document links, definition, hover, references, code
// lenses):
//
// - `packem.showModuleGraph` asks `packem/moduleGraph` and draws it in a webview;
// - `packem.showImporters` asks `packem/importers` for a module and lists them in a quick pick
//   (the server's "N importers" code lenses call it with the module's URI).

import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';

import { renderGraphHtml } from './graphHtml';
import {
    ImporterLocation,
    ImportersParams,
    ModuleGraph,
    ModuleGraphParams,
    importersRequest,
    moduleGraphRequest,
} from './protocol';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let graphPanel: vscode.WebviewPanel | undefined;
/** What the graph panel shows: the argument of the last "Show module graph". */
let graphTarget: vscode.Uri | string | undefined;

const documentSelector = [
    { scheme: 'file', language: 'javascript' },
    { scheme: 'file', language: 'javascriptreact' },
    { scheme: 'file', language: 'typescript' },
    { scheme: 'file', language: 'typescriptreact' },
];

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    output = vscode.window.createOutputChannel('packem');
    context.subscriptions.push(output);

    context.subscriptions.push(
        vscode.commands.registerCommand('packem.showModuleGraph', (uri?: vscode.Uri | string) =>
            showModuleGraph(context, uri),
        ),
        vscode.commands.registerCommand('packem.showImporters', (uri?: vscode.Uri | string) => showImporters(uri)),
        vscode.commands.registerCommand('packem.restartServer', () => restart()),
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('packem.server.path')) void restart();
        }),
    );

    await start();
}

export async function deactivate(): Promise<void> {
    await stop();
}

/** `packem.server.path`, with `~` expanded and relative paths taken from the first workspace folder. */
export function serverCommand(): string {
    const configured = vscode.workspace.getConfiguration('packem').get<string>('server.path')?.trim() || 'packem';
    let command = configured;
    if (command === '~' || command.startsWith('~/')) command = path.join(os.homedir(), command.slice(1));
    // A bare name ("packem") is looked up on PATH; "./bin/packem" is relative to the workspace.
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!path.isAbsolute(command) && /[\\/]/.test(command) && folder?.uri.scheme === 'file') {
        command = path.resolve(folder.uri.fsPath, command);
    }
    return command;
}

async function start(): Promise<void> {
    const command = serverCommand();
    const cwd = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
    const serverOptions: ServerOptions = {
        command,
        args: ['lsp'],
        transport: TransportKind.stdio,
        options: { cwd },
    };
    const clientOptions: LanguageClientOptions = {
        documentSelector,
        outputChannel: output,
        // `packem.trace.server` is read by the client itself (its id is "packem").
        traceOutputChannel: output,
        diagnosticCollectionName: 'packem',
    };
    client = new LanguageClient('packem', 'packem', serverOptions, clientOptions);
    try {
        await client.start();
        output.appendLine(`packem: started \`${command} lsp\``);
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        output.appendLine(`packem: could not start \`${command} lsp\`: ${message}`);
        client = undefined;
        const choice = await vscode.window.showErrorMessage(
            `packem: could not start the language server \`${command} lsp\` (${message}). Set "packem.server.path" to the packem binary.`,
            'Open Settings',
            'Show Output',
        );
        if (choice === 'Open Settings') {
            await vscode.commands.executeCommand('workbench.action.openSettings', 'packem.server.path');
        } else if (choice === 'Show Output') {
            output.show();
        }
    }
}

async function stop(): Promise<void> {
    const c = client;
    client = undefined;
    if (c) {
        try {
            await c.stop();
        } catch (err) {
            output?.appendLine(`packem: stopping the server failed: ${String(err)}`);
        }
    }
}

async function restart(): Promise<void> {
    await stop();
    await start();
}

function runningClient(): LanguageClient | undefined {
    if (!client || !client.isRunning()) {
        void vscode.window.showWarningMessage('packem: the language server is not running.', 'Restart').then((c) => {
            if (c === 'Restart') void restart();
        });
        return undefined;
    }
    return client;
}

function asUriString(uri: vscode.Uri | string | undefined): string | undefined {
    if (typeof uri === 'string') return uri;
    if (uri instanceof vscode.Uri) return uri.toString();
    return vscode.window.activeTextEditor?.document.uri.toString();
}

async function showModuleGraph(context: vscode.ExtensionContext, uri?: vscode.Uri | string): Promise<void> {
    const c = runningClient();
    if (!c) return;
    graphTarget = uri;
    // From the command palette: the whole graph. With an argument (a menu or another
    // command): the graph around that module.
    const params: ModuleGraphParams = typeof uri === 'string' || uri instanceof vscode.Uri ? { uri: asUriString(uri) } : {};
    let graph: ModuleGraph;
    try {
        graph = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Window, title: 'packem: module graph' },
            () => c.sendRequest<ModuleGraph>(moduleGraphRequest, params),
        );
    } catch (err) {
        void vscode.window.showErrorMessage(`packem: ${moduleGraphRequest} failed: ${String(err)}`);
        return;
    }

    if (!graphPanel) {
        graphPanel = vscode.window.createWebviewPanel('packem.moduleGraph', 'packem: module graph', vscode.ViewColumn.Beside, {
            enableScripts: true,
            localResourceRoots: [],
            retainContextWhenHidden: false,
        });
        graphPanel.onDidDispose(() => (graphPanel = undefined), null, context.subscriptions);
        graphPanel.webview.onDidReceiveMessage(
            async (message: { type?: string; uri?: string }) => {
                if (message.type === 'open' && typeof message.uri === 'string') {
                    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(message.uri));
                    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
                } else if (message.type === 'refresh') {
                    await showModuleGraph(context, graphTarget);
                }
            },
            null,
            context.subscriptions,
        );
    } else {
        graphPanel.reveal(undefined, true);
    }
    const nonce = randomBytes(16).toString('base64');
    const heading = params.uri ? `Module graph of ${vscode.workspace.asRelativePath(vscode.Uri.parse(params.uri))}` : 'Module graph';
    graphPanel.webview.html = renderGraphHtml(graph, nonce, graphPanel.webview.cspSource, heading);
}

async function showImporters(uri?: vscode.Uri | string): Promise<void> {
    const c = runningClient();
    if (!c) return;
    const target = asUriString(uri);
    if (!target) {
        void vscode.window.showInformationMessage('packem: open a module to list its importers.');
        return;
    }
    let locations: ImporterLocation[] | null;
    try {
        locations = await c.sendRequest<ImporterLocation[] | null>(importersRequest, { uri: target } satisfies ImportersParams);
    } catch (err) {
        void vscode.window.showErrorMessage(`packem: ${importersRequest} failed: ${String(err)}`);
        return;
    }
    const name = vscode.workspace.asRelativePath(vscode.Uri.parse(target));
    if (!locations || locations.length === 0) {
        void vscode.window.showInformationMessage(`packem: nothing imports ${name}.`);
        return;
    }

    type Item = vscode.QuickPickItem & { location: vscode.Location };
    const items: Item[] = locations.map((l) => {
        const locUri = vscode.Uri.parse(l.uri);
        const range = c.protocol2CodeConverter.asRange(l.range);
        return {
            label: vscode.workspace.asRelativePath(locUri),
            description: `${range.start.line + 1}:${range.start.character + 1}`,
            location: new vscode.Location(locUri, range),
        };
    });
    const picked = await vscode.window.showQuickPick(items, {
        title: `${items.length} importer${items.length === 1 ? '' : 's'} of ${name}`,
        placeHolder: 'Open an importer',
        matchOnDescription: true,
    });
    if (!picked) return;
    const doc = await vscode.workspace.openTextDocument(picked.location.uri);
    await vscode.window.showTextDocument(doc, { selection: picked.location.range });
}
