//! The whole-pipeline fuzz target's generator, checked on its own (in a test binary apart from
//! the corpus replay, whose panic hook counts every panic of its process).

/// The generator makes projects that build and write outputs, not only ones that fail early:
/// otherwise fuzzing the whole pipeline would exercise parsing alone.
#[test]
fn generated_projects_often_build_and_write_outputs() {
    let mut state = 0x1234_5678_u64;
    let mut bytes = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as u8
    };
    let (mut built, mut modules, total) = (0, 0, 200);
    for _ in 0..total {
        let data: Vec<u8> = (0..512).map(|_| bytes()).collect();
        let generated = packem_fuzz::Generated::from_bytes(&data);
        modules += generated.files().len();
        let scratch = packem_fuzz::Scratch::new();
        if let Some(result) = generated.build_in(&scratch)
            && !result.written.is_empty()
        {
            built += 1;
        }
    }
    eprintln!("{built} of {total} generated projects wrote outputs ({modules} files)");
    assert!(built * 4 >= total, "only {built} of {total} generated projects wrote outputs");
}
