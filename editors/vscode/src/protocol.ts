// The packem language server's custom requests (see editors/vscode/README.md).

export interface Position {
    line: number;
    character: number;
}

export interface Range {
    start: Position;
    end: Position;
}

export type ModuleFormat = 'esm' | 'cjs' | 'json' | 'script';

export interface ModuleGraphNode {
    id: number;
    uri: string;
    /** Relative to the workspace root. */
    path: string;
    format: ModuleFormat | string;
    entry: boolean;
}

export interface ModuleGraphEdge {
    from: number;
    /** `null` when the import is external or did not resolve. */
    to: number | null;
    specifier: string;
    /** `"import-statement"`, `"dynamic-import"`, `"require-call"`, ... */
    kind: string;
    /** The external package or path, when the import was left external. */
    external?: string;
    /** Why the import did not resolve. */
    error?: string;
}

export interface ModuleGraph {
    nodes: ModuleGraphNode[];
    edges: ModuleGraphEdge[];
}

export interface ModuleGraphParams {
    uri?: string;
}

export interface ImportersParams {
    uri: string;
}

export interface ImporterLocation {
    uri: string;
    range: Range;
}

export const moduleGraphRequest = 'packem/moduleGraph';
export const importersRequest = 'packem/importers';
