//! Node.js built-in module names.

/// Built-in module names that may be imported without the `node:` prefix, sorted (from Node 20
/// `require("module").builtinModules`).
pub static NODE_BUILTINS: &[&str] = &[
    "_http_agent",
    "_http_client",
    "_http_common",
    "_http_incoming",
    "_http_outgoing",
    "_http_server",
    "_stream_duplex",
    "_stream_passthrough",
    "_stream_readable",
    "_stream_transform",
    "_stream_wrap",
    "_stream_writable",
    "_tls_common",
    "_tls_wrap",
    "assert",
    "assert/strict",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "dns/promises",
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "inspector/promises",
    "module",
    "net",
    "os",
    "path",
    "path/posix",
    "path/win32",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "readline/promises",
    "repl",
    "stream",
    "stream/consumers",
    "stream/promises",
    "stream/web",
    "string_decoder",
    "sys",
    "timers",
    "timers/promises",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "util/types",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Whether `specifier` names a Node.js built-in module: `fs`, `fs/promises`, `node:fs`,
/// `node:test`. Any `node:` specifier counts, as in Node.js, which rejects unknown ones at run time.
pub fn is_builtin(specifier: &str) -> bool {
    if let Some(name) = specifier.strip_prefix("node:") {
        return !name.is_empty();
    }
    NODE_BUILTINS.binary_search(&specifier).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted() {
        assert!(NODE_BUILTINS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn recognizes_builtins() {
        assert!(is_builtin("fs"));
        assert!(is_builtin("fs/promises"));
        assert!(is_builtin("node:fs"));
        assert!(is_builtin("node:test"));
        assert!(!is_builtin("test"));
        assert!(!is_builtin("react"));
        assert!(!is_builtin("node:"));
    }
}
