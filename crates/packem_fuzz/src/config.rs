//! Target (d): `packem.json`, read as the CLI reads it.

use crate::scratch::Scratch;

/// The input is a `packem.json` (beside a `package.json` and an entry): every target is resolved
/// into entries and options, each error rendered as the CLI prints it.
pub fn config(data: &[u8]) {
    let scratch = Scratch::new();
    let root = scratch.root();
    scratch.write("src/index.js", b"export const a = 1;\n");
    scratch.write("package.json", br#"{ "name": "app", "type": "module" }"#);
    scratch.write("packem.json", data);
    match packem_host::config::load_targets(root) {
        Ok(targets) => {
            for (name, config) in targets {
                let _ = (name.len(), config.entries.len(), format!("{:?}", config.compile));
            }
        }
        Err(message) => {
            let _ = message.len();
        }
    }
    let _ = packem_host::config::load(root).map_err(|e| e.len());
    if let Ok(text) = std::str::from_utf8(data) {
        let path = root.join("packem.json");
        if let Ok(file) = packem_host::config::targets::parse(&path, text.to_string()) {
            let _ = file.select(&["default".into(), "web".into()]).map_err(|e| e.to_string());
            if let Ok(targets) = file.targets() {
                for target in &targets {
                    let _ = file.target_line(&target.name);
                    let _ = packem_host::config::from_target(root, &target.config, path.clone());
                }
            }
        }
    }
}
