//! Redis's glob-style pattern matching (stringmatchlen): `*`, `?`,
//! `[abc]`, `[^a-z]`, and `\` escapes.

pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let mut skip_longer_matches = false;
    matches_from(pattern, text, &mut skip_longer_matches, 0)
}

/// Redis 7.0.15's stringmatchlen_impl, step for step (its handling of a
/// `[` class without `]`, of `\` at the end, of `*` against the end of
/// the text all follow from that), with its early exit: once the rest of
/// the pattern after a `*` matched nowhere in the rest of the text, no
/// earlier `*` can help by matching more, so "a*a*a*...b" over a long run
/// of "a" fails at once instead of trying every split (it used to spin a
/// core for minutes: Redis's keyspace test "Regression for pattern
/// matching long nested loops"). Reads at `pattern.len()` see 0, as C sees
/// the string's terminator. Nesting past 1000 `*` fails the match, as in
/// Redis 7.2, rather than exhaust the stack.
fn matches_from(
    mut pattern: &[u8],
    mut text: &[u8],
    skip_longer_matches: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > 1000 {
        return false;
    }
    let at = |p: &[u8], i: usize| p.get(i).copied().unwrap_or(0);
    while !pattern.is_empty() && !text.is_empty() {
        match pattern[0] {
            b'*' => {
                while !pattern.is_empty() && at(pattern, 1) == b'*' {
                    pattern = &pattern[1..];
                }
                if pattern.len() == 1 {
                    return true;
                }
                while !text.is_empty() {
                    if matches_from(&pattern[1..], text, skip_longer_matches, nesting + 1) {
                        return true;
                    }
                    if *skip_longer_matches {
                        return false;
                    }
                    text = &text[1..];
                }
                *skip_longer_matches = true;
                return false;
            }
            b'?' => text = &text[1..],
            b'[' => {
                pattern = &pattern[1..];
                let negate = at(pattern, 0) == b'^';
                if negate {
                    pattern = &pattern[1..];
                }
                let c = text[0];
                let mut matched = false;
                // `pattern` may run out (a class without `]`): then the
                // loop steps back one so the common step below ends it.
                let mut back_one = false;
                loop {
                    if at(pattern, 0) == b'\\' && pattern.len() >= 2 {
                        pattern = &pattern[1..];
                        if pattern[0] == c {
                            matched = true;
                        }
                    } else if at(pattern, 0) == b']' {
                        break;
                    } else if pattern.is_empty() {
                        back_one = true;
                        break;
                    } else if pattern.len() >= 3 && pattern[1] == b'-' {
                        let (mut low, mut high) = (pattern[0], pattern[2]);
                        if low > high {
                            std::mem::swap(&mut low, &mut high);
                        }
                        pattern = &pattern[2..];
                        if (low..=high).contains(&c) {
                            matched = true;
                        }
                    } else if pattern[0] == c {
                        matched = true;
                    }
                    pattern = &pattern[1..];
                }
                if matched == negate {
                    return false;
                }
                text = &text[1..];
                if back_one {
                    // Redis steps the pattern back onto the class's last
                    // byte; the step after the switch takes it again, and
                    // nothing of the pattern is left.
                    pattern = &[];
                    if text.is_empty() {
                        break;
                    }
                    continue;
                }
            }
            b'\\' if pattern.len() >= 2 => {
                pattern = &pattern[1..];
                if pattern[0] != text[0] {
                    return false;
                }
                text = &text[1..];
            }
            literal => {
                if literal != text[0] {
                    return false;
                }
                text = &text[1..];
            }
        }
        pattern = &pattern[1..];
        if text.is_empty() {
            while at(pattern, 0) == b'*' {
                pattern = &pattern[1..];
            }
            break;
        }
    }
    pattern.is_empty() && text.is_empty()
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
        assert!(matches(b"a*", b"a"));
        // Redis too: a lone "*" needs a byte (KEYS and SCAN take "*" as all).
        assert!(!matches(b"*", b""));
        assert!(!matches(b"a", b""));
        assert!(!matches(b"", b"a"));
        assert!(matches(b"[abc", b"a"));
        assert!(!matches(b"[abc", b"ab"));
        assert!(matches(b"a\\", b"a\\"));
    }

    /// Keyspace test "Regression for pattern matching long nested loops":
    /// answered at once, not after trying every split of the text.
    #[test]
    fn nested_stars_fail_fast() {
        let text = [b'a'; 100];
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(pattern, &text));
        let mut long = b"a*".repeat(5000);
        long.push(b'b');
        assert!(!matches(&long, &[b'a'; 10_000]));
    }
}
