//! Guarding recursive work against deep nesting.
//!
//! oxc's parser, its semantic builder and every AST visitor recurse once per nesting level. A Rust
//! stack overflow aborts the process and cannot be caught, so before parsing we estimate how deep
//! the recursion can go with one cheap pass over the bytes, and then:
//! - refuse files nested deeper than [`MAX_NESTING_DEPTH`] brackets (a `ParseError` "nesting too
//!   deep"; Node throws a `RangeError` for such input too), and
//! - run parse and semantic analysis on a stack sized for the estimate (via `stacker`), so that the
//!   result does not depend on the caller's thread (a 2 MiB test thread, a rayon worker, `main`).
//!
//! The estimate approximates the AST depth from above: bracket depth (`(`, `[`, `{`, `${`); plus, per
//! bracket level, the operator tokens and prefix keywords (`new`, `typeof`, …) since the last `;` or
//! `,` (an `a + b + c` chain or an `a.b.c` member chain is as deep as it is long); plus a quarter of
//! the brace-less statement keywords (`if`, `else`, `for`, …) at the level. It skips strings,
//! comments, template text and (heuristically) regular expressions, so brackets there do not count;
//! mistakes are bounded by a line, because strings and regexes end at a newline. Recursion it does not
//! see is covered by a 4 MiB base. Our own scan walk grows the stack on demand instead ([`guard`]).

/// The deepest bracket nesting accepted. Deeper files get a "nesting too deep" `ParseError` and an
/// empty program. 10,000 nested arrays parse; 100,000 nested parentheses are refused.
pub const MAX_NESTING_DEPTH: u32 = 20_000;

/// Stack bytes reserved per level of estimated depth. Measured on oxc 0.146 (opt-level 2, parse plus
/// semantic analysis, 5,000 levels): `{a:{a:…}}` and `` `${`${…}`}` `` cost about 1.8 KiB per bracket,
/// parentheses, arrays, calls and nested functions 1.4 to 1.7 KiB, TypeScript `A<A<…>>` 1.6 KiB per
/// `<`, arrow chains 0.9 KiB and assignment or ternary chains 0.6 KiB per operator. Doubled and more
/// for safety.
const STACK_PER_LEVEL: usize = 4 * 1024;

/// Stack that any parse gets on top of the per-level amount. Also covers recursion the estimate does
/// not see, such as `if (a) x; else if (b) y; else …` chains (0.35 KiB per level): about 10,000 levels.
const BASE_STACK: usize = 4 * 1024 * 1024;

/// Brace-less statement keywords (`if`, `else`, `for`, …) per estimated level. Each costs 0.35 to
/// 0.41 KiB of stack (`if (a) if (b) …`, `else if` chains, labels), so four share one level.
const STATEMENTS_PER_LEVEL: u32 = 4;

/// The largest stack segment we ever ask for (virtual memory; only touched pages are committed).
const MAX_STACK: usize = 1024 * 1024 * 1024;

/// The result of [`estimate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Nesting {
    /// Deepest bracket nesting.
    pub brackets: u32,
    /// Deepest estimated recursion (brackets plus operator chains).
    pub deepest: u32,
    /// Where the deepest point is (a one-byte range), for the diagnostic.
    pub deepest_at: (u32, u32),
}

impl Nesting {
    /// The stack a recursive walk over this file needs.
    pub fn stack_needed(self) -> usize {
        BASE_STACK.saturating_add((self.deepest as usize).saturating_mul(STACK_PER_LEVEL))
    }

    /// Why this file must not be parsed, if it must not.
    pub fn too_deep(self) -> Option<String> {
        if self.brackets > MAX_NESTING_DEPTH {
            Some(format!(
                "Nesting too deep: brackets are nested {} levels deep here; the limit is {MAX_NESTING_DEPTH}",
                self.brackets
            ))
        } else if self.stack_needed() > MAX_STACK {
            Some(format!(
                "Nesting too deep: this expression is too deeply nested or too long (about {} levels)",
                self.deepest
            ))
        } else {
            None
        }
    }
}

/// Runs `f` with at least the stack `nesting` needs (at most [`MAX_STACK`]).
pub(crate) fn with_stack_for<R>(nesting: Nesting, f: impl FnOnce() -> R) -> R {
    let need = nesting.stack_needed().min(MAX_STACK);
    stacker::maybe_grow(need, need, f)
}

/// Runs `f` with the stack a recursive walk over `text` needs, or says why `text` is too deeply
/// nested to walk (the reason [`crate::parsed_module`] reports for it).
pub fn with_stack_for_text<R>(text: &str, f: impl FnOnce() -> R) -> Result<R, String> {
    let nesting = estimate(text.as_bytes());
    match nesting.too_deep() {
        Some(reason) => Err(reason),
        None => Ok(with_stack_for(nesting, f)),
    }
}

/// Runs one step of a recursive walk, growing the stack when less than 128 KiB are left.
#[inline]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, f)
}

/// Estimates the nesting of `src` in one pass over its bytes.
/// Bytes that continue an identifier for [`estimate`] (ASCII letters, digits, `_`, `$`, and every
/// non-ASCII byte).
const IDENTIFIER_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
        b += 1;
    }
    table
};

pub(crate) fn estimate(src: &[u8]) -> Nesting {
    /// One open bracket: which one, and the operator count of the enclosing level when it opened.
    struct Open {
        byte: u8,
        saved_chain: u32,
        saved_statements: u32,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut chain: u32 = 0; // operator tokens at open levels, summed
    let mut level_base: u32 = 0; // `chain` when the current level opened
    let mut statements: u32 = 0; // brace-less nesting statement keywords at the current level
    let mut out = Nesting::default();
    // Whether a `/` here would start a regular expression (after an operator, an opening bracket, …).
    let mut regex_ok = true;
    let mut i = 0;
    let n = src.len();
    let mut in_template = false;
    let note = |stack_len: usize, chain: u32, i: usize, out: &mut Nesting| {
        let brackets = stack_len as u32;
        out.brackets = out.brackets.max(brackets);
        let depth = brackets.saturating_add(chain);
        if depth > out.deepest {
            out.deepest = depth;
            out.deepest_at = (i as u32, (i + 1).min(n) as u32);
        }
    };
    while i < n {
        if in_template {
            // Template text: up to the closing backtick or a `${`.
            while i < n {
                match src[i] {
                    b'\\' => i += 2,
                    b'`' => {
                        i += 1;
                        in_template = false;
                        regex_ok = false;
                        break;
                    }
                    b'$' if src.get(i + 1) == Some(&b'{') => {
                        stack.push(Open {
                            byte: b'$',
                            saved_chain: level_base,
                            saved_statements: std::mem::take(&mut statements),
                        });
                        level_base = chain;
                        note(stack.len(), chain + statements / STATEMENTS_PER_LEVEL, i, &mut out);
                        i += 2;
                        in_template = false;
                        regex_ok = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
            continue;
        }
        let b = src[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if src.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &src[i..]).map_or(n, |at| i + at);
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                i += 2;
                i = memchr::memmem::find(&src[i..], b"*/").map_or(n, |at| i + at + 2);
            }
            b'/' if regex_ok => {
                i += 1;
                let mut class = false;
                while i < n && src[i] != b'\n' {
                    match src[i] {
                        b'\\' => i += 1,
                        b'[' => class = true,
                        b']' => class = false,
                        b'/' if !class => break,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                regex_ok = false;
            }
            b'\'' | b'"' => {
                i += 1;
                while i < n && src[i] != b && src[i] != b'\n' {
                    if src[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                regex_ok = false;
            }
            b'`' => {
                i += 1;
                in_template = true;
            }
            b'(' | b'[' | b'{' => {
                stack.push(Open {
                    byte: b,
                    saved_chain: level_base,
                    saved_statements: std::mem::take(&mut statements),
                });
                level_base = chain;
                note(stack.len(), chain + statements / STATEMENTS_PER_LEVEL, i, &mut out);
                i += 1;
                regex_ok = true;
            }
            b')' | b']' | b'}' => {
                if let Some(open) = stack.pop() {
                    chain = level_base;
                    level_base = open.saved_chain;
                    statements = open.saved_statements;
                    if open.byte == b'$' {
                        in_template = true;
                    }
                }
                i += 1;
                regex_ok = b == b'}';
            }
            b';' | b',' => {
                chain = level_base;
                i += 1;
                regex_ok = true;
            }
            b'=' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'!' | b'~' | b'?' | b'<' | b'>' | b':'
            | b'.' => {
                // One operator token: the longest run of operator characters.
                while i < n
                    && matches!(
                        src[i],
                        b'=' | b'+'
                            | b'-'
                            | b'*'
                            | b'%'
                            | b'&'
                            | b'|'
                            | b'^'
                            | b'!'
                            | b'~'
                            | b'?'
                            | b'<'
                            | b'>'
                            | b':'
                            | b'.'
                    )
                {
                    i += 1;
                }
                if b == b'/' {
                    i += 1;
                }
                chain = chain.saturating_add(1);
                note(stack.len(), chain + statements / STATEMENTS_PER_LEVEL, i - 1, &mut out);
                regex_ok = true;
            }
            b'0'..=b'9' => {
                while i < n && (src[i].is_ascii_alphanumeric() || src[i] == b'.' || src[i] == b'_') {
                    i += 1;
                }
                regex_ok = false;
            }
            _ => {
                // Identifiers, keywords, and anything else (non-ASCII bytes, `#`, `@`, `\`).
                let start = i;
                while i < n && IDENTIFIER_BYTE[src[i] as usize] {
                    i += 1;
                }
                if i == start {
                    i += 1;
                    regex_ok = true;
                } else {
                    // `return /re/` and friends; other identifiers are followed by a division.
                    let word = &src[start..i];
                    if word.len() > 10 || !word[0].is_ascii_lowercase() {
                        // Not a keyword: an identifier, followed by a division.
                        note(stack.len(), chain + statements / STATEMENTS_PER_LEVEL, i - 1, &mut out);
                        regex_ok = false;
                        continue;
                    }
                    // Keywords that nest the way operators do (`new new X`).
                    if matches!(word, b"new" | b"typeof" | b"void" | b"delete" | b"await" | b"yield") {
                        chain = chain.saturating_add(1);
                    }
                    // Statements that nest without braces (`if (a) if (b) x;`, `else if` chains):
                    // counted per bracket level and not reset by `;`, since `if (a) x; else if …`
                    // goes on nesting across it.
                    if matches!(word, b"if" | b"else" | b"for" | b"while" | b"do" | b"with") {
                        statements = statements.saturating_add(1);
                    }
                    note(stack.len(), chain + statements / STATEMENTS_PER_LEVEL, i - 1, &mut out);
                    regex_ok = matches!(
                        word,
                        b"return"
                            | b"typeof"
                            | b"instanceof"
                            | b"in"
                            | b"of"
                            | b"new"
                            | b"delete"
                            | b"void"
                            | b"throw"
                            | b"case"
                            | b"do"
                            | b"else"
                            | b"yield"
                            | b"await"
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_and_skips_strings_comments_and_regexes() {
        assert_eq!(estimate(b"((a))").brackets, 2);
        assert_eq!(estimate(b"'((((' + \"[[[[\" // ((((\n /* (((( */ x").brackets, 0);
        assert_eq!(estimate(b"x = /[(]((/; y").brackets, 0);
        assert_eq!(estimate(b"`a ${ (b) } ( c`").brackets, 2);
        assert_eq!(estimate(b"a / (b) / c").brackets, 1);
    }

    #[test]
    fn operator_chains_count_until_a_separator() {
        let long = estimate(b"a + b + c + d + e");
        assert!(long.deepest >= 4);
        let separated = estimate(b"a + b; c + d; e + f");
        assert!(separated.deepest <= 2);
        let nested = estimate(b"f(a + b + c, d); g");
        assert!(nested.deepest <= 3);
        let ifs = estimate("if (a) x; else ".repeat(400).as_bytes());
        assert!(ifs.deepest >= 200, "{ifs:?}");
    }
}
