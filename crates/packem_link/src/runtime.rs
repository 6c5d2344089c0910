//! The runtime helpers a bundle may need, and the set of them a chunk uses.
//!
//! Only the helpers a chunk uses are emitted (Rspack calls this "runtime requirements"). The
//! helpers follow Node's semantics, not Babel's: a CommonJS module's default import is
//! `module.exports` whatever `__esModule` says, and namespace objects carry the
//! `Symbol.toStringTag` `"Module"`.

/// A set of runtime helpers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Helpers(u16);

impl Helpers {
    /// `__commonJS`: a lazy, cached CommonJS module closure.
    pub const COMMON_JS: Helpers = Helpers(1);
    /// `__export`: defines a namespace object's live getters.
    pub const EXPORT: Helpers = Helpers(2);
    /// `__toESM`: the namespace of a CommonJS module (Node mode: default = `module.exports`;
    /// otherwise `__esModule` is honoured).
    pub const TO_ESM: Helpers = Helpers(4);
    /// `__toCommonJS`: a namespace object as `module.exports` (with `__esModule`).
    pub const TO_COMMON_JS: Helpers = Helpers(8);
    /// `__esm`: a lazily evaluated ES module (runs once, when first initialized).
    pub const ESM: Helpers = Helpers(16);
    /// `__reExport`: merges a CommonJS module's exports into a namespace (`export * from` it).
    pub const RE_EXPORT: Helpers = Helpers(32);
    /// `__toBinary`: a `Uint8Array` from base64 (the `binary` loader, outside Node).
    pub const TO_BINARY: Helpers = Helpers(64);
    /// `__toBinaryNode`: the same with Node's `Buffer`.
    pub const TO_BINARY_NODE: Helpers = Helpers(128);
    /// `__name`: restores a renamed function's or class's `name` (`--keep-names`).
    pub const NAME: Helpers = Helpers(256);

    /// Whether every helper of `other` is in `self`.
    pub fn contains(self, other: Helpers) -> bool {
        self.0 & other.0 == other.0
    }

    /// The helpers of the set, each as (its index among all helpers, its code), in a fixed
    /// order.
    pub fn each(self) -> impl Iterator<Item = (usize, &'static str)> {
        HELPERS.iter().enumerate().filter(move |(_, (flag, _))| self.contains(*flag)).map(|(i, (_, code))| (i, *code))
    }

    /// Every helper.
    pub const ALL: Helpers = Helpers(u16::MAX);

    /// The helpers' code, in a fixed order.
    pub fn code(self) -> String {
        let mut out = String::new();
        for (flag, code) in HELPERS {
            if self.contains(*flag) {
                out.push_str(code);
                out.push('\n');
            }
        }
        out
    }
}

impl std::ops::BitOr for Helpers {
    type Output = Helpers;
    fn bitor(self, rhs: Helpers) -> Helpers {
        Helpers(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Helpers {
    fn bitor_assign(&mut self, rhs: Helpers) {
        self.0 |= rhs.0;
    }
}

/// Names the helpers (and the `__require` of ESM output for node) occupy at the top level.
pub const HELPER_NAMES: &[&str] = &[
    "__commonJS",
    "__cjsRequire",
    "__export",
    "__toESM",
    "__toCommonJS",
    "__require",
    "__createRequire",
    "__esm",
    "__reExport",
    "__toBinary",
    "__toBinaryNode",
    "__name",
    "__import_meta_url",
    "__import_meta_dirname",
    "__import_meta_filename",
];

const HELPERS: &[(Helpers, &str)] = &[
    (
        Helpers::NAME,
        "var __name = (target, value) => Object.defineProperty(target, \"name\", { value, configurable: true });",
    ),
    (
        Helpers::TO_BINARY,
        "var __toBinary = (base64) => {\n  var text = atob(base64), bytes = new Uint8Array(text.length);\n  for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);\n  return bytes;\n};",
    ),
    (Helpers::TO_BINARY_NODE, "var __toBinaryNode = (base64) => new Uint8Array(Buffer.from(base64, \"base64\"));"),
    (
        Helpers::RE_EXPORT,
        "var __reExport = (target, mod) => {\n  var getters = {};\n  for (var key of Object.keys(target)) getters[key] = Object.getOwnPropertyDescriptor(target, key).get;\n  if (mod != null) for (let key of Object.keys(mod)) if (key != \"default\" && !(key in getters)) getters[key] = () => mod[key];\n  for (var key of Object.keys(target)) delete target[key];\n  for (var key of Object.keys(getters).sort()) Object.defineProperty(target, key, { get: getters[key], enumerable: true, configurable: true });\n  return target;\n};",
    ),
    (
        Helpers::ESM,
        "var __esm = (body) => {\n  var done = false, result;\n  return () => (done ? result : (done = true, result = body()));\n};",
    ),
    (
        Helpers::COMMON_JS,
        "var __commonJS = (body) => {\n  var module;\n  return () => (module || (module = { exports: {} }, body.call(module.exports, module.exports, module, __cjsRequire)), module.exports);\n};",
    ),
    (
        Helpers::EXPORT,
        "var __export = (target, getters, open) => {\n  for (var name in getters) Object.defineProperty(target, name, { get: getters[name], enumerable: true, configurable: !!open });\n  Object.defineProperty(target, Symbol.toStringTag, { value: \"Module\" });\n  return open ? target : Object.preventExtensions(target);\n};",
    ),
    (
        Helpers::TO_ESM,
        "var __toESM = (mod, isNodeMode) => {\n  var ns = {};\n  var object = mod != null && (typeof mod == \"object\" || typeof mod == \"function\");\n  var babel = !isNodeMode && object && mod.__esModule && \"default\" in mod;\n  var keys = !object ? [] : babel ? Object.getOwnPropertyNames(mod) : Object.keys(mod).filter((k) => k != \"default\");\n  if (!babel) keys.push(\"default\");\n  for (let key of keys.sort()) {\n    var desc = Object.getOwnPropertyDescriptor(mod, key);\n    Object.defineProperty(ns, key, key == \"default\" && !babel ? { value: mod, enumerable: true } : { get: () => mod[key], enumerable: !desc || desc.enumerable });\n  }\n  return Object.defineProperty(ns, Symbol.toStringTag, { value: \"Module\" });\n};",
    ),
    (
        Helpers::TO_COMMON_JS,
        "var __toCommonJS = (ns) => {\n  var out = Object.defineProperty({}, \"__esModule\", { value: true });\n  for (let key of Object.keys(ns)) if (key != \"__esModule\") Object.defineProperty(out, key, { get: () => ns[key], enumerable: true });\n  return out;\n};",
    ),
];
