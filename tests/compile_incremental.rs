//! Query-event tests for the compile step: what a TSX body edit, a define edit, a tsconfig.json
//! JSX edit and an asset edit re-run, and that the outputs then equal a cold build's.

use packem_db::{CompileOptions, Loader, Platform};
use packem_host::{Format, PackemDatabase, Workspace};
use packem_tests::TestProject;

const RUNTIME: &str = "export const jsx = (t, p) => [t, p];\nexport const jsxs = jsx;\nexport const jsxDEV = jsx;\nexport const Fragment = 'f';\n";

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("tsconfig.json", "{ \"compilerOptions\": { \"jsx\": \"react-jsx\", \"jsxImportSource\": \"mini\" } }\n"),
        (
            "node_modules/mini/package.json",
            "{ \"name\": \"mini\", \"exports\": { \"./jsx-runtime\": \"./rt.js\", \"./jsx-dev-runtime\": \"./rt.js\" } }\n",
        ),
        ("node_modules/mini/rt.js", RUNTIME),
        (
            "src/main.tsx",
            "import { Badge } from './Badge';\nimport { label } from './label';\nconsole.log(<Badge n={1} />, label, DEBUG);\n",
        ),
        ("src/Badge.tsx", "export const Badge = ({ n }: { n: number }) => <span>{n}</span>;\n"),
        ("src/label.ts", "export const label: string = 'plain TypeScript';\n"),
    ]
}

fn compile() -> CompileOptions {
    CompileOptions { define: vec![("DEBUG".into(), "true".into())], ..CompileOptions::default() }
}

fn project() -> TestProject {
    TestProject::with_compile(&files(), &["src/main.tsx"], Platform::Node, compile())
}

fn build(p: &mut TestProject) -> Vec<String> {
    let target = p.ws.target(Format::Esm, None);
    let bundle = p.ws.build(target);
    assert!(p.ws.build_diagnostics(target).is_empty(), "{:?}", p.ws.build_diagnostics(target));
    bundle.chunks.iter().map(|c| c.code.to_string()).collect()
}

fn cold(p: &TestProject) -> Vec<String> {
    let db = p.ws.db();
    let project = p.ws.project();
    let mut ws = Workspace::with_compile(
        PackemDatabase::default(),
        project.entries(db).clone(),
        project.options(db).clone(),
        project.compile(db).clone(),
    );
    let target = ws.target(Format::Esm, None);
    ws.build(target).chunks.iter().map(|c| c.code.to_string()).collect()
}

fn renders(executed: &[String]) -> usize {
    executed.iter().filter(|q| *q == "rendered_module").count()
}

#[test]
fn a_tsx_body_edit_rerenders_only_that_module() {
    let mut p = project();
    build(&mut p);
    p.write("src/Badge.tsx", "export const Badge = ({ n }: { n: number }) => <span>{n}</span>;\n");
    build(&mut p);
    p.executed();
    p.write("src/Badge.tsx", "export const Badge = ({ n }: { n: number }) => <strong>{n + 1}</strong>;\n");
    let out = build(&mut p);
    assert!(out[0].contains("\"strong\""), "{}", out[0]);
    assert_eq!(
        p.executed(),
        [
            "bundle",
            "derived_source",
            "module_scan(src/Badge.tsx)",
            "parsed_diagnostics(src/Badge.tsx)",
            "parsed_module(src/Badge.tsx)",
            "parsed_symbols(src/Badge.tsx)",
            "rendered_chunk",
            "rendered_module",
            "rendered_run",
            "source_text(src/Badge.tsx)",
        ],
        "a TSX body edit costs what a JS one does: no relink, one render (the injected runtime import keeps its place, so the summary is not even re-derived)"
    );
    assert_eq!(out, cold(&p));
}

#[test]
fn editing_a_define_recompiles_exactly_the_modules_that_mention_it() {
    let mut p = project();
    build(&mut p);
    p.executed();
    p.ws.set_compile_options(CompileOptions { define: vec![("DEBUG".into(), "false".into())], ..compile() });
    let out = build(&mut p);
    assert!(out[0].contains("false"), "{}", out[0]);
    let executed = p.executed();
    // Only main.tsx mentions DEBUG: it alone is compiled and rendered again.
    assert!(executed.contains(&"parsed_module(src/main.tsx)".to_string()), "{executed:?}");
    let compiled_again = |q: &String| {
        (q.starts_with("parsed_") || q.starts_with("module_scan") || q.starts_with("source_text"))
            && (q.contains("(src/Badge.tsx)") || q.contains("(src/label.ts)"))
    };
    assert!(!executed.iter().any(compiled_again), "{executed:?}");
    // main.tsx's source key changed, so the graph and the link re-run (cheaply: every other
    // module's facts come from their cells), but no other module is compiled or rendered.
    assert_eq!(renders(&executed), 1, "{executed:?}");
    assert_eq!(out, cold(&p));
}

#[test]
fn a_new_mention_of_a_defined_name_recompiles_that_module_with_the_define() {
    let mut p = project();
    build(&mut p);
    p.write("src/label.ts", "export const label: string = DEBUG ? 'debug' : 'plain';\n");
    let out = build(&mut p);
    assert!(out[0].contains("true ? \"debug\"") || out[0].contains("\"debug\""), "{}", out[0]);
    assert!(!out[0].contains("DEBUG ?"), "the define applies to the new mention: {}", out[0]);
    assert_eq!(out, cold(&p));
}

#[test]
fn editing_tsconfig_jsx_recompiles_only_the_jsx_modules() {
    let mut p = project();
    build(&mut p);
    p.executed();
    p.write("tsconfig.json", "{ \"compilerOptions\": { \"jsx\": \"react-jsxdev\", \"jsxImportSource\": \"mini\" } }\n");
    let out = build(&mut p);
    assert!(out[0].contains("jsxDEV"), "{}", out[0]);
    let executed = p.executed();
    assert!(executed.contains(&"parsed_module(src/Badge.tsx)".to_string()), "{executed:?}");
    assert!(executed.contains(&"parsed_module(src/main.tsx)".to_string()), "{executed:?}");
    assert!(!executed.contains(&"parsed_module(src/label.ts)".to_string()), "label.ts has no JSX: {executed:?}");
    assert_eq!(out, cold(&p));
}

#[test]
fn an_asset_edit_rerenders_its_module_and_an_added_import_adds_one_asset() {
    let compile = CompileOptions {
        loaders: vec![(".png".into(), Loader::File), (".txt".into(), Loader::Text)],
        ..CompileOptions::default()
    };
    let mut p = TestProject::with_compile(
        &[
            (
                "src/main.js",
                "import logo from './logo.png';\nimport note from './note.txt';\nconsole.log(logo, note);\n",
            ),
            ("src/logo.png", "first image"),
            ("src/note.txt", "first note"),
            ("src/icon.png", "an icon"),
        ],
        &["src/main.js"],
        Platform::Node,
        compile,
    );
    let target = p.ws.target(Format::Esm, None);
    assert_eq!(p.ws.build(target).assets.len(), 1);
    p.executed();
    p.write("src/note.txt", "second note");
    let out = build(&mut p);
    assert!(out[0].contains("second note"), "{}", out[0]);
    let executed = p.executed();
    assert_eq!(renders(&executed), 1, "{executed:?}");
    assert!(!executed.contains(&"link".to_string()), "{executed:?}");
    assert_eq!(out, cold(&p));

    p.write("src/main.js", "import logo from './logo.png';\nimport icon from './icon.png';\nimport note from './note.txt';\nconsole.log(logo, icon, note);\n");
    let bundle = p.ws.build(target);
    let names: Vec<&str> = bundle.assets.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("icon-")) && names.iter().any(|n| n.starts_with("logo-")), "{names:?}");
    let executed = p.executed();
    assert!(
        !executed.contains(&"source_bytes(src/logo.png)".to_string()),
        "the old asset is not read again: {executed:?}"
    );
    assert_eq!(build(&mut p), cold(&p));
}

#[test]
fn editing_an_inject_file_rebinds_the_globals_it_now_exports() {
    let compile = CompileOptions { inject: Vec::new(), ..CompileOptions::default() };
    let mut p = TestProject::with_compile(
        &[("src/shim.js", "export const foo = 1;\n"), ("src/main.js", "console.log(typeof foo, typeof bar);\n")],
        &["src/main.js"],
        Platform::Node,
        compile,
    );
    let inject = CompileOptions { inject: vec![p.path("src/shim.js")], ..CompileOptions::default() };
    p.ws.set_compile_options(inject);
    build(&mut p);
    p.write("src/shim.js", "export const foo = 1;\nexport const bar = 2;\n");
    let out = build(&mut p);
    // `bar` is bound to the shim's export now (scope-hoisted under its own name).
    assert!(out[0].contains("const bar = 2;\nconsole.log(typeof foo, typeof bar)"), "{}", out[0]);
    assert_eq!(out, cold(&p));
    p.write("src/shim.js", "export const bar = 2;\n");
    assert_eq!(build(&mut p), cold(&p));
}

#[test]
fn editing_a_tsconfig_extends_base_recompiles_with_its_settings() {
    let mut p = TestProject::with_compile(
        &[
            ("tsconfig.json", "{ \"extends\": \"./configs/base.json\" }\n"),
            ("configs/base.json", "{ \"compilerOptions\": { \"jsx\": \"react\", \"jsxFactory\": \"h\" } }\n"),
            ("src/main.jsx", "const h = (t) => 'h:' + t;\nconst j = (t) => 'j:' + t;\nconsole.log(<div />, h, j);\n"),
        ],
        &["src/main.jsx"],
        Platform::Node,
        CompileOptions::default(),
    );
    let out = build(&mut p);
    assert!(out[0].contains("h(\"div\""), "{}", out[0]);
    p.write("configs/base.json", "{ \"compilerOptions\": { \"jsx\": \"react\", \"jsxFactory\": \"j\" } }\n");
    let out = build(&mut p);
    assert!(out[0].contains("j(\"div\""), "the edited base applies: {}", out[0]);
    assert_eq!(out, cold(&p));
}

#[test]
fn a_file_imported_as_json_and_as_text_is_two_modules_that_both_follow_edits() {
    let mut p = TestProject::with_compile(
        &[
            ("src/data.json", "{ \"k\": 1 }\n"),
            (
                "src/main.mjs",
                "import data from './data.json' with { type: 'json' };\nimport raw from './data.json' with { type: 'text' };\nconsole.log(data.k, raw);\n",
            ),
        ],
        &["src/main.mjs"],
        Platform::Node,
        CompileOptions::default(),
    );
    let out = build(&mut p);
    assert!(out[0].contains("\"{ \\\"k\\\": 1 }\\n\""), "the text module: {}", out[0]);
    p.write("src/data.json", "{ \"k\": 2 }\n");
    let out = build(&mut p);
    assert!(out[0].contains("\"{ \\\"k\\\": 2 }\\n\"") && out[0].contains("var k = 2;"), "{}", out[0]);
    assert_eq!(out, cold(&p));
}
