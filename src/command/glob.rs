//! Redis's glob-style pattern matching (stringmatchlen): `*`, `?`,
//! `[abc]`, `[^a-z]`, and `\` escapes.

pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    matches_at(pattern, text, 0)
}

fn matches_at(mut pattern: &[u8], mut text: &[u8], depth: usize) -> bool {
    // Bound recursion on patterns like "*a*a*a*..." as Redis does.
    if depth > 1000 {
        return false;
    }
    while let Some(&p) = pattern.first() {
        match p {
            b'*' => {
                while pattern.len() > 1 && pattern[1] == b'*' {
                    pattern = &pattern[1..];
                }
                if pattern.len() == 1 {
                    return true;
                }
                for start in 0..=text.len() {
                    if matches_at(&pattern[1..], &text[start..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if text.is_empty() {
                    return false;
                }
                text = &text[1..];
            }
            b'[' => {
                let Some(&c) = text.first() else { return false };
                pattern = &pattern[1..];
                let negate = pattern.first() == Some(&b'^');
                if negate {
                    pattern = &pattern[1..];
                }
                let mut matched = false;
                loop {
                    match pattern {
                        [] => break,
                        [b']', ..] => break,
                        [b'\\', escaped, ..] => {
                            if *escaped == c {
                                matched = true;
                            }
                            pattern = &pattern[2..];
                        }
                        // Like Redis, "a-]" is a range that ends at ']'.
                        [start, b'-', end, ..] => {
                            let (low, high) = if start <= end {
                                (*start, *end)
                            } else {
                                (*end, *start)
                            };
                            if (low..=high).contains(&c) {
                                matched = true;
                            }
                            pattern = &pattern[3..];
                        }
                        [single, ..] => {
                            if *single == c {
                                matched = true;
                            }
                            pattern = &pattern[1..];
                        }
                    }
                }
                if matched == negate {
                    return false;
                }
                text = &text[1..];
                if pattern.is_empty() {
                    // An unterminated class ends the pattern, as in Redis.
                    return text.is_empty();
                }
            }
            b'\\' if pattern.len() >= 2 => {
                pattern = &pattern[1..];
                if text.first() != Some(&pattern[0]) {
                    return false;
                }
                text = &text[1..];
            }
            literal => {
                if text.first() != Some(&literal) {
                    return false;
                }
                text = &text[1..];
            }
        }
        pattern = &pattern[1..];
    }
    text.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn glob_cases() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"h?llo", b"hello"));
        assert!(!matches(b"h?llo", b"hllo"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[ae]llo", b"hillo"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"k\\*", b"k*"));
        assert!(!matches(b"k\\*", b"kx"));
        assert!(matches(b"user:*:name", b"user:42:name"));
        assert!(!matches(b"a*b", b"acd"));
    }
}
