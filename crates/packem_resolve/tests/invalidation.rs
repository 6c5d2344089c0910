//! Which changes re-run `resolve`, checked with salsa's event log.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use camino::Utf8Path;
use common::*;
use packem_db::Db as _;
use packem_db::files::FileChange;
use packem_db::{Files, Platform, Project};
use packem_resolve::{Db as _, Resolution, ResolveKind, ResolveRequest, resolve};
use salsa::Setter;

/// A query downstream of `resolve`, to observe backdating.
#[salsa::tracked]
fn resolved_file_name(db: &dyn packem_resolve::Db, request: ResolveRequest<'_>) -> Option<String> {
    resolve(db, request).file().and_then(|p| p.file_name()).map(str::to_string)
}

fn setup(case: &str) -> (TempFixture, TestDb, Project) {
    let fx = temp_fixture(case);
    let db = TestDb::new();
    let project = project(&db, options(&fx.root, Platform::Browser));
    db.log.enable();
    (fx, db, project)
}

fn run(db: &TestDb, project: Project, dir: &Utf8Path, spec: &str) -> Resolution {
    resolve_in(db, project, dir, spec, ResolveKind::Import)
}

#[test]
fn creating_a_missing_file_reruns_resolution() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    assert!(matches!(run(&db, project, &src, "./b"), Resolution::Failed(_)));
    assert_eq!(db.take_resolve_runs(), 1);
    // Asking again is memoized.
    let _ = run(&db, project, &src, "./b");
    assert_eq!(db.take_resolve_runs(), 0);

    let created = src.join("b.js");
    assert!(db.files().get(&created).is_some(), "the resolver probed {created}");
    std::fs::write(&created, "export default 1;\n").unwrap();
    assert_eq!(Files::sync_path(&mut db, &created), Some(FileChange::Created));
    db.resolvers().clear_caches();

    assert_eq!(expect_file(&run(&db, project, &src, "./b")), created);
    assert_eq!(db.take_resolve_runs(), 1);
}

#[test]
fn deleting_the_resolved_file_fails_resolution() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    let target = src.join("a.js");
    assert_eq!(expect_file(&run(&db, project, &src, "./a")), target);
    db.take_resolve_runs();

    std::fs::remove_file(&target).unwrap();
    assert_eq!(Files::sync_path(&mut db, &target), Some(FileChange::Deleted));
    db.resolvers().clear_caches();

    let failure = run(&db, project, &src, "./a");
    assert!(matches!(failure, Resolution::Failed(_)), "{failure:?}");
    assert_eq!(db.take_resolve_runs(), 1);
}

#[test]
fn package_json_edit_with_epoch_bump_changes_resolution() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    let pkg = fx.root.join("node_modules/pkg");
    assert_eq!(expect_file(&run(&db, project, &src, "pkg")), pkg.join("one.js"));
    db.take_resolve_runs();

    std::fs::write(pkg.join("package.json"), r#"{ "name": "pkg", "exports": { ".": "./two.js" } }"#).unwrap();
    Files::sync_path(&mut db, &pkg.join("package.json"));
    let epoch = project.scope(&db).epoch(&db);
    project.scope(&db).set_epoch(&mut db).to(epoch + 1);
    db.resolvers().clear_caches();

    assert_eq!(expect_file(&run(&db, project, &src, "pkg")), pkg.join("two.js"));
    assert_eq!(db.take_resolve_runs(), 1);
}

#[test]
fn epoch_bump_with_same_answer_backdates() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    let request = ResolveRequest::new(&db, project.scope(&db), src.clone(), "./a".to_string(), ResolveKind::Import);
    assert_eq!(resolved_file_name(&db, request).as_deref(), Some("a.js"));
    db.executed();

    let epoch = project.scope(&db).epoch(&db);
    project.scope(&db).set_epoch(&mut db).to(epoch + 1);
    db.resolvers().clear_caches();

    let request = ResolveRequest::new(&db, project.scope(&db), src.clone(), "./a".to_string(), ResolveKind::Import);
    assert_eq!(resolved_file_name(&db, request).as_deref(), Some("a.js"));
    let executed = db.executed();
    assert!(executed.iter().any(|n| n == "resolve"), "{executed:?}");
    assert!(!executed.iter().any(|n| n == "resolved_file_name"), "downstream re-ran: {executed:?}");
}

#[test]
fn content_edit_does_not_rerun_resolution() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    let target = src.join("target/t.js");
    assert_eq!(expect_file(&run(&db, project, &src, "./target/t.js")), target);
    assert_eq!(expect_file(&run(&db, project, &src, "./target/t")), target);
    assert_eq!(db.take_resolve_runs(), 2);

    std::fs::write(&target, "export default 'edited';\n").unwrap();
    assert_eq!(Files::sync_path(&mut db, &target), Some(FileChange::Modified));

    assert_eq!(expect_file(&run(&db, project, &src, "./target/t.js")), target);
    assert_eq!(expect_file(&run(&db, project, &src, "./target/t")), target);
    let executed = db.executed();
    assert!(!executed.iter().any(|n| n == "resolve"), "resolve re-ran after a content edit: {executed:?}");
}

#[test]
fn renaming_a_directory_and_back() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    let target = src.join("target/t.js");
    assert_eq!(expect_file(&run(&db, project, &src, "./target/t")), target);
    db.take_resolve_runs();

    std::fs::rename(src.join("target"), src.join("renamed")).unwrap();
    sync_all(&mut db);
    assert!(matches!(run(&db, project, &src, "./target/t"), Resolution::Failed(_)));
    assert_eq!(db.take_resolve_runs(), 1);

    std::fs::rename(src.join("renamed"), src.join("target")).unwrap();
    sync_all(&mut db);
    assert_eq!(expect_file(&run(&db, project, &src, "./target/t")), target);
    assert_eq!(db.take_resolve_runs(), 1);
}

#[test]
fn unrelated_file_changes_do_not_rerun_resolution() {
    let (fx, mut db, project) = setup("invalidation");
    let src = fx.root.join("src");
    assert_eq!(expect_file(&run(&db, project, &src, "./a")), src.join("a.js"));
    db.take_resolve_runs();

    let other = fx.root.join("elsewhere.js");
    let _ = db.files().file(&db, &other);
    std::fs::write(&other, "1;\n").unwrap();
    Files::sync_path(&mut db, &other);
    db.resolvers().clear_caches();

    assert_eq!(expect_file(&run(&db, project, &src, "./a")), src.join("a.js"));
    assert_eq!(db.take_resolve_runs(), 0);
}
