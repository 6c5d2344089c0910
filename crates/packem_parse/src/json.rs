//! A strict JSON validator that reports the first error with a byte span and collects the keys of
//! a top-level object. Iterative (an explicit stack), so any nesting depth is safe.

use packem_db::Diagnostic;

use crate::compile::parse_error;

/// A top-level object key: its decoded name and the span of the key string (quotes included).
pub(crate) type Key = (String, (u32, u32));

/// Checks that `text` is one JSON value; returns the keys of the top-level object (empty for other
/// values), in source order.
pub(crate) fn validate(text: &str) -> Result<Vec<Key>, Diagnostic> {
    Checker { src: text.as_bytes(), text, i: 0 }.run()
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Array,
    Object,
}

struct Checker<'t> {
    src: &'t [u8],
    text: &'t str,
    i: usize,
}

impl Checker<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.src.len() && matches!(self.src[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn error(&self, expected: &str) -> Diagnostic {
        let at = self.i.min(self.src.len());
        let found = match self.text[at..].chars().next() {
            None => "end of file".to_string(),
            Some(c) => format!("\"{c}\""),
        };
        let end = at + self.text[at..].chars().next().map_or(0, char::len_utf8);
        parse_error(format!("Expected {expected} but found {found}"), (at as u32, end as u32))
    }

    fn run(mut self) -> Result<Vec<Key>, Diagnostic> {
        let mut stack: Vec<Container> = Vec::new();
        let mut keys = Vec::new();
        self.skip_ws();
        // Parse one value, then unwind containers until a value is needed again.
        'value: loop {
            self.skip_ws();
            match self.src.get(self.i) {
                Some(b'{') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.src.get(self.i) == Some(&b'}') {
                        self.i += 1;
                    } else {
                        stack.push(Container::Object);
                        self.key(stack.len() == 1, &mut keys)?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.src.get(self.i) == Some(&b']') {
                        self.i += 1;
                    } else {
                        stack.push(Container::Array);
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.word("true")?,
                Some(b'f') => self.word("false")?,
                Some(b'n') => self.word("null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.error("a JSON value")),
            }
            // After a value: `,` or the closing bracket of the enclosing containers.
            loop {
                self.skip_ws();
                let Some(&container) = stack.last() else {
                    if self.i < self.src.len() {
                        return Err(self.error("end of file"));
                    }
                    return Ok(keys);
                };
                let close = if container == Container::Object { b'}' } else { b']' };
                match self.src.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        if container == Container::Object {
                            self.skip_ws();
                            self.key(stack.len() == 1, &mut keys)?;
                        }
                        continue 'value;
                    }
                    Some(&b) if b == close => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => {
                        return Err(self.error(if container == Container::Object {
                            "\",\" or \"}\""
                        } else {
                            "\",\" or \"]\""
                        }));
                    }
                }
            }
        }
    }

    /// A key and its colon; records it when the object is the top-level one.
    fn key(&mut self, top: bool, keys: &mut Vec<Key>) -> Result<(), Diagnostic> {
        self.skip_ws();
        if self.src.get(self.i) != Some(&b'"') {
            return Err(self.error("a string key"));
        }
        let start = self.i;
        let name = self.string()?;
        if top {
            keys.push((name, (start as u32, self.i as u32)));
        }
        self.skip_ws();
        if self.src.get(self.i) != Some(&b':') {
            return Err(self.error("\":\""));
        }
        self.i += 1;
        Ok(())
    }

    /// A string starting at the current `"`; returns its decoded value.
    fn string(&mut self) -> Result<String, Diagnostic> {
        self.i += 1;
        let mut out = String::new();
        let mut run_start = self.i;
        loop {
            match self.src.get(self.i) {
                None => return Err(self.error("\"\\\"\" to end the string")),
                Some(b'"') => {
                    out.push_str(&self.text[run_start..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run_start..self.i]);
                    self.i += 1;
                    match self.src.get(self.i) {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hex = self
                                .text
                                .get(self.i + 1..self.i + 5)
                                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                            let Some(hex) = hex else {
                                return Err(self.error("four hex digits"));
                            };
                            let unit = u16::from_str_radix(hex, 16).unwrap_or(0xfffd);
                            out.extend(char::decode_utf16([unit]).map(|c| c.unwrap_or('\u{fffd}')));
                            self.i += 4;
                        }
                        _ => return Err(self.error("an escape sequence")),
                    }
                    self.i += 1;
                    run_start = self.i;
                }
                Some(&b) if b < 0x20 => return Err(self.error("\"\\\"\" to end the string")),
                Some(_) => self.i += 1,
            }
        }
    }

    fn word(&mut self, word: &str) -> Result<(), Diagnostic> {
        if self.src[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.error("a JSON value"))
        }
    }

    fn number(&mut self) -> Result<(), Diagnostic> {
        let digits = |c: &mut Self| {
            let start = c.i;
            while c.i < c.src.len() && c.src[c.i].is_ascii_digit() {
                c.i += 1;
            }
            c.i > start
        };
        if self.src.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let first = self.i;
        if !digits(self) {
            return Err(self.error("a digit"));
        }
        if self.src[first] == b'0' && self.i > first + 1 {
            self.i = first + 1;
            return Err(self.error("no leading zeros"));
        }
        if self.src.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.error("a digit"));
            }
        }
        if matches!(self.src.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.src.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.error("a digit"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_json_and_collects_top_level_keys() {
        let keys = validate(r#" { "a": 1, "b\u0041": [true, false, null, {"nested": -1.5e3}], "c": {} } "#).unwrap();
        let names: Vec<_> = keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(names, ["a", "bA", "c"]);
        assert_eq!(keys[0].1, (3, 6));
        assert!(validate("[1, 2]").unwrap().is_empty());
        assert!(validate("\"s\"").unwrap().is_empty());
    }

    #[test]
    fn reports_the_first_error_with_a_span() {
        let err = validate("{\"a\": 1,, }").unwrap_err();
        assert_eq!(err.range, Some((8, 9)));
        assert!(err.message.contains("string key"), "{}", err.message);
        assert_eq!(validate("[1 2]").unwrap_err().range, Some((3, 4)));
        assert_eq!(validate("{} x").unwrap_err().range, Some((3, 4)));
        assert!(validate("").is_err());
        assert!(validate("[01]").is_err());
    }

    #[test]
    fn deep_nesting_is_iterative() {
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(validate(&deep).is_ok());
    }
}
