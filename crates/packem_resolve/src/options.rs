//! From packem's [`ProjectOptions`] to `oxc_resolver`'s [`ResolveOptions`], following esbuild.

use oxc_resolver::{AliasValue, ResolveOptions, TsconfigDiscovery, TsconfigOptions, TsconfigReferences};
use packem_db::{Platform, ProjectOptions};

use crate::{ResolveKind, normalize};

/// Extensions tried for extensionless paths, in order (esbuild's order plus the `m`/`c` variants).
pub const EXTENSIONS: &[&str] = &[".tsx", ".ts", ".jsx", ".js", ".mts", ".cts", ".mjs", ".cjs", ".json"];

/// The export conditions for `kind` (besides `default`, which `oxc_resolver` always matches).
///
/// Like esbuild: `import` or `require`, the platform condition (`browser`/`node`, none on neutral),
/// then either the user's `--conditions` or, when there are none, `module`.
pub fn conditions(options: &ProjectOptions, kind: ResolveKind) -> Vec<String> {
    let mut conditions = vec![match kind {
        ResolveKind::Import => "import".to_string(),
        ResolveKind::Require => "require".to_string(),
    }];
    match options.platform {
        Platform::Browser => conditions.push("browser".into()),
        Platform::Node => conditions.push("node".into()),
        Platform::Neutral => {}
    }
    if options.conditions.is_empty() {
        conditions.push("module".into());
    } else {
        for condition in &options.conditions {
            if !conditions.contains(condition) {
                conditions.push(condition.clone());
            }
        }
    }
    conditions
}

/// The package.json main fields: the user's, else esbuild's platform default.
pub fn main_fields(options: &ProjectOptions) -> Vec<String> {
    if let Some(fields) = &options.main_fields {
        return fields.clone();
    }
    let fields: &[&str] = match options.platform {
        Platform::Browser => &["browser", "module", "main"],
        Platform::Node => &["main", "module"],
        Platform::Neutral => &[],
    };
    fields.iter().map(|s| s.to_string()).collect()
}

/// The `oxc_resolver` options for one kind of import under `options`.
pub fn resolve_options(options: &ProjectOptions, kind: ResolveKind) -> ResolveOptions {
    let cwd = normalize(&options.cwd);
    let tsconfig = match &options.tsconfig {
        Some(path) => TsconfigDiscovery::Manual(TsconfigOptions {
            config_file: normalize(&cwd.join(path)).into_std_path_buf(),
            references: TsconfigReferences::Auto,
        }),
        None => TsconfigDiscovery::Auto,
    };
    let alias = options
        .alias
        .iter()
        .filter(|(from, _)| !from.is_empty())
        .map(|(from, to)| {
            // esbuild resolves path-like alias targets from the working directory.
            let to = if to.starts_with("./") || to.starts_with("../") || to == "." || to == ".." {
                normalize(&cwd.join(to)).into_string()
            } else {
                to.clone()
            };
            (from.clone(), vec![AliasValue::Path(to)])
        })
        .collect();
    ResolveOptions {
        cwd: Some(cwd.into_std_path_buf()),
        tsconfig: Some(tsconfig),
        alias,
        alias_fields: if options.platform == Platform::Browser { vec![vec!["browser".into()]] } else { vec![] },
        condition_names: conditions(options, kind),
        extensions: EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        // TypeScript's convention, which esbuild follows: `./x.js` may name `x.ts`.
        extension_alias: vec![
            (".js".into(), vec![".js".into(), ".ts".into(), ".tsx".into()]),
            (".jsx".into(), vec![".jsx".into(), ".ts".into(), ".tsx".into()]),
            (".mjs".into(), vec![".mjs".into(), ".mts".into()]),
            (".cjs".into(), vec![".cjs".into(), ".cts".into()]),
        ],
        main_fields: main_fields(options),
        main_files: vec!["index".into()],
        builtin_modules: options.platform == Platform::Node,
        // Builds must not depend on the environment.
        node_path: false,
        symlinks: true,
        ..ResolveOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_conditions_follow_esbuild() {
        let browser = ProjectOptions::default();
        assert_eq!(conditions(&browser, ResolveKind::Import), ["import", "browser", "module"]);
        let node = ProjectOptions { platform: Platform::Node, ..Default::default() };
        assert_eq!(conditions(&node, ResolveKind::Require), ["require", "node", "module"]);
        let custom =
            ProjectOptions { platform: Platform::Neutral, conditions: vec!["worker".into()], ..Default::default() };
        assert_eq!(conditions(&custom, ResolveKind::Import), ["import", "worker"]);
    }

    #[test]
    fn main_fields_by_platform() {
        assert_eq!(main_fields(&ProjectOptions::default()), ["browser", "module", "main"]);
        let node = ProjectOptions { platform: Platform::Node, ..Default::default() };
        assert_eq!(main_fields(&node), ["main", "module"]);
        let neutral = ProjectOptions { platform: Platform::Neutral, ..Default::default() };
        assert!(main_fields(&neutral).is_empty());
    }
}
