//! One test per resolution rule, against the fixture folders in `tests/fixtures/resolve`.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use common::*;
use packem_db::{DiagnosticCode, Platform, ProjectOptions};
use packem_resolve::{ExternalReason, Resolution, ResolveKind::*, ResolvedVia};

fn file_via(resolution: &Resolution) -> (camino::Utf8PathBuf, ResolvedVia) {
    match resolution {
        Resolution::File { path, via } => (path.clone(), *via),
        other => panic!("expected a file, got {other:?}"),
    }
}

#[track_caller]
fn expect_failed(resolution: &Resolution) -> packem_resolve::ResolveFailure {
    match resolution {
        Resolution::Failed(failure) => failure.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn relative_paths_with_each_extension() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    for platform in [Platform::Browser, Platform::Node, Platform::Neutral] {
        let project = project(&db, options(&root, platform));
        for name in ["a.ts", "b.tsx", "c.mts", "d.cts", "e.js", "f.jsx", "g.mjs", "h.cjs", "i.json"] {
            for kind in [Import, Require] {
                let with_ext = resolve_in(&db, project, &src, &format!("./{name}"), kind);
                assert_eq!(file_via(&with_ext), (src.join(name), ResolvedVia::Relative), "{name}");
                let stem = name.split('.').next().unwrap();
                let without = resolve_in(&db, project, &src, &format!("./{stem}"), kind);
                assert_eq!(expect_file(&without), src.join(name), "{stem} without extension");
            }
        }
    }
}

#[test]
fn extension_order_and_typescript_aliases() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    let project = project(&db, options(&root, Platform::Browser));
    // .tsx before .ts before .js
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./order/x", Import)), src.join("order/x.tsx"));
    // `./x.js` finds `x.ts`; an existing `.js` wins.
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./only-ts.js", Import)), src.join("only-ts.ts"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./only-tsx.js", Import)), src.join("only-tsx.tsx"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./only-ts.jsx", Import)), src.join("only-ts.ts"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./both.js", Import)), src.join("both.js"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./esm-alias.mjs", Import)), src.join("esm-alias.mts"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./cjs-alias.cjs", Require)), src.join("cjs-alias.cts"));
    let missing = expect_failed(&resolve_in(&db, project, &src, "./nothing.js", Import));
    assert_eq!(missing.message, "Could not resolve \"./nothing.js\"");
}

#[test]
fn directory_index_parent_and_absolute() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    let project = project(&db, options(&root, Platform::Browser));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./dir", Import)), src.join("dir/index.ts"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./dir/", Import)), src.join("dir/index.ts"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./jsdir", Require)), src.join("jsdir/index.js"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src.join("nested"), "../e", Import)), src.join("e.js"));
    let absolute = src.join("a.ts");
    assert_eq!(
        file_via(&resolve_in(&db, project, &root, absolute.as_str(), Import)),
        (absolute.clone(), ResolvedVia::Absolute)
    );
}

#[test]
fn unresolved_relative_path_has_external_hint() {
    let db = TestDb::new();
    let root = fixture("relative");
    let project = project(&db, options(&root, Platform::Browser));
    let failure = expect_failed(&resolve_in(&db, project, &root.join("src"), "./missing", Import));
    assert_eq!(failure.code, DiagnosticCode::UnresolvedImport);
    assert_eq!(failure.message, "Could not resolve \"./missing\"");
    assert_eq!(
        failure.help.as_deref(),
        Some(
            "You can mark the path \"./missing\" as external to exclude it from the bundle, which will remove this error."
        )
    );
}

#[test]
fn package_main_and_module_by_platform() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let nm = root.join("node_modules");
    let browser = project(&db, options(&root, Platform::Browser));
    let node = project(&db, options(&root, Platform::Node));
    let neutral = project(&db, options(&root, Platform::Neutral));
    assert_eq!(
        file_via(&resolve_in(&db, browser, &src, "main-only", Import)),
        (nm.join("main-only/lib/main.js"), ResolvedVia::Package)
    );
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "main-only", Require)), nm.join("main-only/lib/main.js"));
    assert_eq!(
        expect_file(&resolve_in(&db, node, &src, "main-only/lib/other", Require)),
        nm.join("main-only/lib/other.js")
    );
    assert_eq!(expect_file(&resolve_in(&db, browser, &src, "no-main", Import)), nm.join("no-main/index.js"));
    // browser: browser, module, main; node: main, module
    assert_eq!(expect_file(&resolve_in(&db, browser, &src, "module-main", Import)), nm.join("module-main/module.js"));
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "module-main", Import)), nm.join("module-main/main.js"));
    // neutral has no main fields: only the index file is found.
    expect_failed(&resolve_in(&db, neutral, &src, "module-main", Import));
    // explicit main fields override the platform default
    let custom =
        project(&db, ProjectOptions { main_fields: Some(vec!["module".into()]), ..options(&root, Platform::Node) });
    assert_eq!(expect_file(&resolve_in(&db, custom, &src, "module-main", Import)), nm.join("module-main/module.js"));
}

#[test]
fn browser_field_string_and_object_forms() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let nm = root.join("node_modules");
    let browser = project(&db, options(&root, Platform::Browser));
    let node = project(&db, options(&root, Platform::Node));
    assert_eq!(
        expect_file(&resolve_in(&db, browser, &src, "browser-string", Import)),
        nm.join("browser-string/browser.js")
    );
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "browser-string", Import)), nm.join("browser-string/main.js"));
    assert_eq!(
        expect_file(&resolve_in(&db, browser, &src, "browser-object", Import)),
        nm.join("browser-object/main-browser.js")
    );
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "browser-object", Import)), nm.join("browser-object/main.js"));
    assert_eq!(
        expect_file(&resolve_in(&db, browser, &src, "browser-object/server", Import)),
        nm.join("browser-object/client.js")
    );
    assert_eq!(
        expect_file(&resolve_in(&db, node, &src, "browser-object/server", Import)),
        nm.join("browser-object/server.js")
    );
    match resolve_in(&db, browser, &src, "browser-object/ignored", Import) {
        Resolution::Ignored { path } => assert!(path.as_str().contains("browser-object"), "{path}"),
        other => panic!("expected ignored, got {other:?}"),
    }
    // Inside the package, a relative import of the ignored file is ignored too.
    let inside = nm.join("browser-object");
    assert!(matches!(resolve_in(&db, browser, &inside, "./ignored.js", Import), Resolution::Ignored { .. }));
    assert_eq!(
        expect_file(&resolve_in(&db, node, &src, "browser-object/ignored", Import)),
        nm.join("browser-object/ignored.js")
    );
}

#[test]
fn exports_conditions() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let pkg = root.join("node_modules/exports-cond");
    let cases = [
        (Platform::Node, Import, "node.mjs"),
        (Platform::Node, Require, "node.cjs"),
        (Platform::Browser, Import, "browser.js"),
        (Platform::Browser, Require, "browser.js"),
        (Platform::Neutral, Import, "import.mjs"),
        (Platform::Neutral, Require, "require.cjs"),
    ];
    for (platform, kind, expected) in cases {
        let project = project(&db, options(&root, platform));
        assert_eq!(
            expect_file(&resolve_in(&db, project, &src, "exports-cond", kind)),
            pkg.join(expected),
            "{platform:?} {kind:?}"
        );
    }
    // `exports` wins over `main`.
    let browser = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        expect_file(&resolve_in(&db, browser, &src, "exports-sugar", Import)),
        root.join("node_modules/exports-sugar/sugar.js")
    );
}

#[test]
fn exports_subpath_patterns_and_unexported_subpaths() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let pkg = root.join("node_modules/exports-cond");
    let project = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        expect_file(&resolve_in(&db, project, &src, "exports-cond/feature/a", Import)),
        pkg.join("features/a.js")
    );
    assert_eq!(
        expect_file(&resolve_in(&db, project, &src, "exports-cond/feature/b", Require)),
        pkg.join("features/b.js")
    );
    assert_eq!(
        expect_file(&resolve_in(&db, project, &src, "exports-cond/package.json", Import)),
        pkg.join("package.json")
    );
    let failure = expect_failed(&resolve_in(&db, project, &src, "exports-cond/secret.js", Import));
    assert_eq!(failure.message, "Could not resolve \"exports-cond/secret.js\"");
    let help = failure.help.expect("resolver message");
    assert!(help.contains("not exported"), "{help}");
    expect_failed(&resolve_in(&db, project, &src, "exports-cond/feature/private/x", Import));
    expect_failed(&resolve_in(&db, project, &src, "exports-cond/feature/c", Import));
}

#[test]
fn module_condition_unless_custom_conditions() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let nm = root.join("node_modules");
    let default = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        expect_file(&resolve_in(&db, default, &src, "exports-module", Import)),
        nm.join("exports-module/module.js")
    );
    assert_eq!(
        expect_file(&resolve_in(&db, default, &src, "exports-module", Require)),
        nm.join("exports-module/module.js")
    );
    let custom =
        project(&db, ProjectOptions { conditions: vec!["custom".into()], ..options(&root, Platform::Browser) });
    assert_eq!(
        expect_file(&resolve_in(&db, custom, &src, "exports-module", Import)),
        nm.join("exports-module/default.js")
    );
    assert_eq!(expect_file(&resolve_in(&db, custom, &src, "exports-cond", Import)), nm.join("exports-cond/custom.js"));
    assert_eq!(expect_file(&resolve_in(&db, custom, &src, "exports-cond", Require)), nm.join("exports-cond/custom.js"));
}

#[test]
fn imports_field() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let node = project(&db, options(&root, Platform::Node));
    let browser = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        file_via(&resolve_in(&db, browser, &src, "#internal", Import)),
        (src.join("internal.js"), ResolvedVia::ImportsField)
    );
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "#dep", Import)), src.join("dep-node.js"));
    assert_eq!(expect_file(&resolve_in(&db, browser, &src, "#dep", Import)), src.join("dep-default.js"));
    assert_eq!(expect_file(&resolve_in(&db, browser, &src, "#utils/format", Require)), src.join("utils/format.js"));
    expect_failed(&resolve_in(&db, browser, &src, "#nope", Import));
}

#[test]
fn scoped_packages() {
    let db = TestDb::new();
    let root = fixture("packages");
    let src = root.join("src");
    let nm = root.join("node_modules/@scope");
    let node = project(&db, options(&root, Platform::Node));
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "@scope/pkg", Import)), nm.join("pkg/dist/index.js"));
    assert_eq!(
        expect_file(&resolve_in(&db, node, &src, "@scope/pkg/dist/extra", Require)),
        nm.join("pkg/dist/extra.js")
    );
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "@scope/exp", Import)), nm.join("exp/root.js"));
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "@scope/exp/sub", Import)), nm.join("exp/sub.mjs"));
    assert_eq!(expect_file(&resolve_in(&db, node, &src, "@scope/exp/sub", Require)), nm.join("exp/sub.cjs"));
    expect_failed(&resolve_in(&db, node, &src, "@scope/missing", Import));
}

#[test]
fn tsconfig_paths_and_base_url() {
    let db = TestDb::new();
    let root = fixture("tsconfig-paths");
    let src = root.join("src");
    let project = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        file_via(&resolve_in(&db, project, &src, "@lib/math", Import)),
        (src.join("lib/math.ts"), ResolvedVia::TsconfigPaths)
    );
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "~utils", Import)), src.join("utils/index.ts"));
    assert_eq!(
        file_via(&resolve_in(&db, project, &src, "src/base-only", Import)),
        (src.join("base-only.ts"), ResolvedVia::TsconfigPaths)
    );
    expect_failed(&resolve_in(&db, project, &src, "@lib/nothing", Import));
}

#[test]
fn explicit_tsconfig_option() {
    let db = TestDb::new();
    let root = fixture("tsconfig-explicit");
    let src = root.join("src");
    let auto = project(&db, options(&root, Platform::Browser));
    expect_failed(&resolve_in(&db, auto, &src, "@x", Import));
    let explicit = project(
        &db,
        ProjectOptions { tsconfig: Some("tsconfig.custom.json".into()), ..options(&root, Platform::Browser) },
    );
    assert_eq!(expect_file(&resolve_in(&db, explicit, &src, "@x", Import)), root.join("x/target.ts"));
    let missing =
        project(&db, ProjectOptions { tsconfig: Some("nope.json".into()), ..options(&root, Platform::Browser) });
    let failure = expect_failed(&resolve_in(&db, missing, &src, "./app", Import));
    assert_eq!(failure.code, DiagnosticCode::InvalidConfig);
}

#[test]
fn invalid_tsconfig_is_invalid_config() {
    let db = TestDb::new();
    let root = fixture("tsconfig-invalid");
    let project = project(&db, options(&root, Platform::Browser));
    let failure = expect_failed(&resolve_in(&db, project, &root.join("src"), "./b", Import));
    assert_eq!(failure.code, DiagnosticCode::InvalidConfig, "{failure:?}");
    assert!(failure.help.is_some());
}

#[test]
fn alias_option() {
    let db = TestDb::new();
    let root = fixture("alias");
    let src = root.join("src");
    let options = ProjectOptions {
        alias: vec![("lib-alias".into(), "./vendor/lib".into()), ("react".into(), "preact-compat".into())],
        ..options(&root, Platform::Browser)
    };
    let project = project(&db, options);
    assert_eq!(
        file_via(&resolve_in(&db, project, &src, "lib-alias", Import)),
        (root.join("vendor/lib/index.js"), ResolvedVia::Alias)
    );
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "lib-alias/sub", Import)), root.join("vendor/lib/sub.js"));
    let nm = root.join("node_modules/preact-compat");
    assert_eq!(file_via(&resolve_in(&db, project, &src, "react", Import)), (nm.join("index.js"), ResolvedVia::Alias));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "react/hooks", Require)), nm.join("hooks.js"));
    // Not a prefix match on the name itself.
    expect_failed(&resolve_in(&db, project, &src, "react-dom", Import));
}

#[test]
fn polyfills_replace_a_file_wherever_it_is_imported() {
    let db = TestDb::new();
    let root = fixture("alias");
    let src = root.join("src");
    let (from, to) = (root.join("vendor/lib/index.js"), src.join("entry.js"));
    let options = ProjectOptions {
        alias: vec![("lib-alias".into(), "./vendor/lib".into())],
        polyfills: vec![(from.clone(), to.clone())],
        ..options(&root, Platform::Browser)
    };
    let project = project(&db, options);
    // Reached through an alias, a relative path or an absolute one: the replacement each time.
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "lib-alias", Import)), to);
    assert_eq!(expect_file(&resolve_in(&db, project, &root.join("vendor"), "./lib/index.js", Require)), to);
    assert_eq!(expect_file(&resolve_in(&db, project, &src, from.as_str(), Import)), to);
    // Other files are untouched.
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "lib-alias/sub", Import)), root.join("vendor/lib/sub.js"));
}

#[test]
fn externals_exact_subpath_and_wildcard() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    let options = ProjectOptions {
        external: vec!["react".into(), "@img/*".into(), "*.png".into(), "./e.js".into()],
        ..options(&root, Platform::Browser)
    };
    let project = project(&db, options);
    for spec in ["react", "react/jsx-runtime", "@img/logo", "./logo.png", "./e.js"] {
        assert_eq!(
            resolve_in(&db, project, &src, spec, Import),
            Resolution::External { path: spec.into(), reason: ExternalReason::Option },
            "{spec}"
        );
    }
    expect_failed(&resolve_in(&db, project, &src, "react-dom", Import));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./a", Import)), src.join("a.ts"));
}

#[test]
fn packages_external() {
    let db = TestDb::new();
    let root = fixture("alias");
    let src = root.join("src");
    let options = ProjectOptions {
        packages_external: true,
        alias: vec![("lib-alias".into(), "./vendor/lib".into())],
        ..options(&root, Platform::Browser)
    };
    let project = project(&db, options);
    for spec in ["react", "react/jsx-runtime", "@scope/pkg", "not-installed"] {
        assert_eq!(
            resolve_in(&db, project, &src, spec, Import),
            Resolution::External { path: spec.into(), reason: ExternalReason::Packages },
            "{spec}"
        );
    }
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "lib-alias", Import)), root.join("vendor/lib/index.js"));
    assert_eq!(expect_file(&resolve_in(&db, project, &src, "./entry", Import)), src.join("entry.js"));
}

#[test]
fn builtins_on_node_are_external() {
    let db = TestDb::new();
    let root = fixture("builtins");
    let src = root.join("src");
    let node = project(&db, options(&root, Platform::Node));
    for spec in ["fs", "node:fs", "fs/promises", "node:test", "events"] {
        for kind in [Import, Require] {
            assert_eq!(
                resolve_in(&db, node, &src, spec, kind),
                Resolution::External { path: spec.into(), reason: ExternalReason::Builtin },
                "{spec}"
            );
        }
    }
    let packages = project(&db, ProjectOptions { packages_external: true, ..options(&root, Platform::Node) });
    assert_eq!(
        resolve_in(&db, packages, &src, "fs", Import),
        Resolution::External { path: "fs".into(), reason: ExternalReason::Builtin }
    );
}

#[test]
fn builtins_on_browser_fail_with_hint() {
    let db = TestDb::new();
    let root = fixture("builtins");
    let src = root.join("src");
    for platform in [Platform::Browser, Platform::Neutral] {
        let project = project(&db, options(&root, platform));
        for spec in ["fs", "node:fs"] {
            let failure = expect_failed(&resolve_in(&db, project, &src, spec, Import));
            assert_eq!(failure.message, format!("Could not resolve \"{spec}\""));
            assert_eq!(
                failure.help.as_deref(),
                Some(
                    "The package \"fs\" wasn't found on the file system but is built into node. Are you trying to bundle for node? You can use \"--platform=node\" to do that, which will remove this error."
                )
            );
        }
    }
    // A polyfill installed under the built-in's name is used off node.
    let browser = project(&db, options(&root, Platform::Browser));
    assert_eq!(
        expect_file(&resolve_in(&db, browser, &src, "events", Import)),
        root.join("node_modules/events/events.js")
    );
}

#[cfg(unix)]
#[test]
fn symlinked_package_resolves_to_real_path() {
    let fx = temp_fixture("symlink");
    let app = fx.root.join("app");
    std::fs::create_dir_all(app.join("node_modules")).unwrap();
    std::os::unix::fs::symlink("../../packages/real-pkg", app.join("node_modules/linked")).unwrap();
    let db = TestDb::new();
    let project = project(&db, options(&app, Platform::Browser));
    let resolved = resolve_in(&db, project, &app.join("src"), "linked", Import);
    assert_eq!(expect_file(&resolved), fx.root.join("packages/real-pkg/index.js"));
}

#[cfg(unix)]
#[test]
fn symlink_loops_fail_without_hanging() {
    let fx = temp_fixture("symlink");
    let loop_dir = fx.root.join("loop");
    std::os::unix::fs::symlink("b", loop_dir.join("a")).unwrap();
    std::os::unix::fs::symlink("a", loop_dir.join("b")).unwrap();
    std::os::unix::fs::symlink("self", loop_dir.join("self")).unwrap();
    std::fs::create_dir_all(fx.root.join("app/node_modules")).unwrap();
    std::os::unix::fs::symlink("loopy", fx.root.join("app/node_modules/loopy")).unwrap();
    let db = TestDb::new();
    let project = project(&db, options(&fx.root, Platform::Browser));
    for spec in ["./a", "./a/x.js", "./b", "./self", "./self/index.js"] {
        expect_failed(&resolve_in(&db, project, &loop_dir, spec, Import));
    }
    expect_failed(&resolve_in(&db, project, &fx.root.join("app/src"), "loopy", Import));
}

#[test]
fn weird_inputs_fail_without_panicking() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    let project = project(&db, options(&root, Platform::Node));
    let specs = [
        "",
        "\0",
        "./\0a",
        ".",
        "..",
        "./",
        "/",
        "//",
        "#",
        "#/",
        "@",
        "@/",
        "@scope/",
        "node:",
        "~",
        "?",
        "./a?x#y",
        "file://",
        "http://x",
        "../../../../../../../../../../../../x",
        "a/../../b",
        "\\",
        "C:\\x",
        "./a\\b",
        "\u{feff}",
        "💥",
        "./ü.js",
    ];
    for spec in specs {
        for kind in [Import, Require] {
            let _ = resolve_in(&db, project, &src, spec, kind);
        }
    }
    let long = "a/".repeat(2000);
    let _ = resolve_in(&db, project, &src, &long, Import);
    for dir in ["", "relative", "/definitely/not/here", "/", "/.."] {
        let _ = resolve_in(&db, project, camino::Utf8Path::new(dir), "./a", Import);
    }
    assert!(matches!(resolve_in(&db, project, &src, "", Import), Resolution::Failed(_)));
    assert!(matches!(
        resolve_in(&db, project, camino::Utf8Path::new("relative"), "./a", Import),
        Resolution::Failed(_)
    ));
}

#[test]
fn resolvers_are_shared_per_options() {
    let db = TestDb::new();
    let root = fixture("relative");
    let src = root.join("src");
    let a = project(&db, options(&root, Platform::Browser));
    let b = project(&db, options(&root, Platform::Browser));
    let c = project(&db, options(&root, Platform::Node));
    for p in [a, b, c] {
        let _ = resolve_in(&db, p, &src, "./a", Import);
        let _ = resolve_in(&db, p, &src, "./a", Require);
    }
    use packem_resolve::Db as _;
    assert_eq!(db.resolvers().len(), 2);
}
