//! Context modules through the binary: `packem graph` lists the generated module and its
//! members, and an `import()` the bundle cannot serve is a warning at its argument.

mod common;
use common::{packem, project, stderr, stdout};

const FILES: &[(&str, &str)] = &[
    (
        "src/main.js",
        "const page = (name) => import(`./pages/${name}.js`);\n\
         const any = (path) => import(path);\n\
         const nested = (dir) => import(`./pages/${dir}/index.js`);\n\
         page('home').then((m) => console.log(m.default));\n\
         export { any, nested };\n",
    ),
    ("src/pages/home.js", "export default 'home';\n"),
    ("src/pages/about.js", "export default 'about';\n"),
    ("src/pages/notes.md", "not a page\n"),
];

#[test]
fn graph_shows_the_context_module_and_its_members() {
    let dir = project(FILES);
    let out = packem(dir.path(), &["graph", "src/main.js", "--platform=node"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let graph = stdout(&out);
    assert!(
        graph.contains("packem:context:./pages/*.js (dynamic-import) → src/./pages/*.js#packem-context:import:"),
        "{graph}"
    );
    assert!(graph.contains("./about.js (dynamic-import) → src/pages/about.js"), "{graph}");
    assert!(graph.contains("./home.js (dynamic-import) → src/pages/home.js"), "{graph}");
    assert!(!graph.contains("notes.md"), "{graph}");
}

#[test]
fn imports_without_a_static_directory_are_warnings_at_their_argument() {
    let dir = project(FILES);
    let out = packem(dir.path(), &["build", "src/main.js", "--platform=node", "--outdir=dist"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    // `import(path)` and a pattern whose directory is dynamic.
    assert!(err.contains("src/main.js:2:30"), "{err}");
    assert!(err.contains("src/main.js:3:32"), "{err}");
    assert_eq!(err.matches("is left for run time").count(), 2, "{err}");
    let out = std::process::Command::new("node").arg(dir.path().join("dist/main.js")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "home\n");
}

#[test]
fn declarations_skip_context_modules() {
    let dir = project(&[
        ("src/main.ts", "export const page = (name: string): Promise<unknown> => import(`./pages/${name}.ts`);\n"),
        ("src/pages/home.ts", "export const title: string = 'home';\n"),
    ]);
    let out = packem(dir.path(), &["build", "src/main.ts", "--platform=node", "--outdir=dist", "--declarations"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = common::files_under(&dir.path().join("dist"));
    assert_eq!(written, ["main.d.ts", "main.js", "pages/home.d.ts"]);
}
