//! Matching a layer prefix against an "unquantized modules" entry, in the three spellings
//! producers use: plain module names (transformers `modules_to_not_convert`: the name, or a
//! dotted component run of the path), fnmatch globs (ModelOpt `exclude_modules`, gpt-oss
//! `model.layers.*.self_attn`) and compressed-tensors `re:` regexes (`re.match`, anchored at
//! the start). A module also covers every submodule below it.

/// True when `prefix` (e.g. `model.layers.0.mlp.gate`) or one of its ancestors is listed
/// by `pattern`.
pub fn module_is_listed(pattern: &str, prefix: &str) -> bool {
    if let Some(re) = pattern.strip_prefix("re:") {
        return regex_match_start(re.as_bytes(), prefix.as_bytes());
    }
    let is_glob = pattern.contains(['*', '?', '[']);
    ancestors(prefix).any(|a| {
        if is_glob {
            glob(pattern.as_bytes(), a.as_bytes())
        } else {
            a == pattern
                || a.strip_suffix(pattern)
                    .is_some_and(|head| head.ends_with('.'))
        }
    })
}

/// `prefix`, then each ancestor obtained by dropping the last dotted component.
fn ancestors(prefix: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(prefix);
    std::iter::from_fn(move || {
        let out = cur?;
        cur = out.rfind('.').map(|i| &out[..i]);
        Some(out)
    })
}

/// fnmatch: `*` any run (dots included), `?` one char, `[...]` a class; whole-string match.
///
/// Iterative, backtracking only to the last `*` (a later `*` can absorb anything an earlier
/// one could), so the time is O(|p|·|s|) and no memory is allocated: a recursive matcher
/// took exponential time on `*a*a*a*a*a*b` (found by the `quant_detect` fuzz target's
/// timeout, regression file fuzz/regressions/quant_detect/).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if p.get(pi) == Some(&b'*') {
            star = Some((pi, si));
            pi += 1;
            continue;
        }
        if let Some(len) = glob_one(&p[pi.min(p.len())..], s[si]) {
            pi += len;
            si += 1;
            continue;
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// When the pattern's first element (a literal, `?` or a `[...]` class; not `*`) matches
/// `c`, its length in pattern bytes. A `[` without a closing `]` matches nothing.
fn glob_one(p: &[u8], c: u8) -> Option<usize> {
    match p.first()? {
        b'?' => Some(1),
        b'[' => {
            let end = p.iter().position(|&x| x == b']')?;
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some(b'!') => (true, &class[1..]),
                _ => (false, class),
            };
            (class.contains(&c) != neg).then_some(end + 1)
        }
        &x => (x == c).then_some(1),
    }
}

/// A small regex: literals, `\` escapes, `.`, `*`, `+`, `?`, `$` at the end, `|` at the top
/// level; anchored at the start like Python's `re.match`. Enough for the patterns
/// llm-compressor writes (`re:.*lm_head`, `re:.*mlp.gate$`).
///
/// Matched by simulating the automaton (a set of pattern positions per input byte), so the
/// time is O(|p|·|s|) and the memory O(|p|): the former backtracking matcher took
/// exponential time on `re:.*.*.*.*.*x` against a long name.
fn regex_match_start(p: &[u8], s: &[u8]) -> bool {
    if let Some(bar) = top_level_bar(p) {
        return regex_match_start(&p[..bar], s) || regex_match_start(&p[bar + 1..], s);
    }
    let (atoms, anchored_end) = parse_branch(p);
    let m = atoms.len();
    // `set[k]`: the match can be at atom k; `set[m]`: the whole branch has matched.
    let mut set = vec![false; m + 1];
    let mut next = vec![false; m + 1];
    set[0] = true;
    close(&atoms, &mut set);
    for &c in s {
        if set[m] && !anchored_end {
            return true;
        }
        next.iter_mut().for_each(|x| *x = false);
        for k in 0..m {
            if set[k] && atoms[k].0.map_or(true, |x| x == c) {
                if atoms[k].1 == Rep::Star {
                    next[k] = true;
                } else {
                    next[k + 1] = true;
                }
            }
        }
        std::mem::swap(&mut set, &mut next);
        close(&atoms, &mut set);
        if !set.iter().any(|&x| x) {
            return false;
        }
    }
    set[m]
}

fn top_level_bar(p: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 2,
            b'|' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// How often an atom may repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rep {
    /// Exactly once.
    One,
    /// Zero or more times.
    Star,
    /// Zero or one time.
    Opt,
}

/// One branch as atoms (byte to match, `None` for `.`; repetition) and whether it ends with
/// `$`. `x+` becomes `x`, `x*`.
fn parse_branch(p: &[u8]) -> (Vec<(Option<u8>, Rep)>, bool) {
    let mut atoms = Vec::new();
    let mut i = 0;
    while i < p.len() {
        if &p[i..] == b"$" {
            return (atoms, true);
        }
        let (m, len) = match p[i] {
            b'\\' if i + 1 < p.len() => (Some(p[i + 1]), 2),
            b'.' => (None, 1),
            c => (Some(c), 1),
        };
        i += len;
        match p.get(i) {
            Some(b'*') => {
                atoms.push((m, Rep::Star));
                i += 1;
            }
            Some(b'+') => {
                atoms.push((m, Rep::One));
                atoms.push((m, Rep::Star));
                i += 1;
            }
            Some(b'?') => {
                atoms.push((m, Rep::Opt));
                i += 1;
            }
            _ => atoms.push((m, Rep::One)),
        }
    }
    (atoms, false)
}

/// Adds the positions reachable without input: past `*` and `?` atoms.
fn close(atoms: &[(Option<u8>, Rep)], set: &mut [bool]) {
    for k in 0..atoms.len() {
        if set[k] && atoms[k].1 != Rep::One {
            set[k + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_match_components_and_submodules() {
        assert!(module_is_listed("lm_head", "lm_head"));
        assert!(module_is_listed("mlp.gate", "model.layers.3.mlp.gate"));
        assert!(!module_is_listed(
            "mlp.gate",
            "model.layers.3.mlp.gate_proj"
        ));
        assert!(module_is_listed(
            "model.layers.0",
            "model.layers.0.self_attn.q_proj"
        ));
        assert!(!module_is_listed(
            "model.layers.0",
            "model.layers.10.self_attn.q_proj"
        ));
    }

    #[test]
    fn globs() {
        assert!(module_is_listed(
            "model.layers.*.self_attn",
            "model.layers.7.self_attn.o_proj"
        ));
        assert!(!module_is_listed(
            "model.layers.*.self_attn",
            "model.layers.7.mlp.experts"
        ));
        assert!(module_is_listed(
            "model.layers.0.mlp*",
            "model.layers.0.mlp.down_proj"
        ));
        assert!(module_is_listed("*lm_head", "lm_head"));
    }

    #[test]
    fn regexes() {
        assert!(module_is_listed("re:.*lm_head", "lm_head"));
        assert!(module_is_listed(
            "re:.*mlp\\.gate$",
            "model.layers.1.mlp.gate"
        ));
        assert!(!module_is_listed(
            "re:.*mlp\\.gate$",
            "model.layers.1.mlp.gate_proj"
        ));
        assert!(module_is_listed("re:model\\.x|.*y", "a.y"));
    }

    /// Patterns that made the former backtracking matchers take exponential time.
    #[test]
    fn pathological_patterns_are_fast_and_right() {
        let name = "a".repeat(200);
        assert!(!module_is_listed(
            &"*a".repeat(30).replace("*a*a", "*a*b"),
            &name
        ));
        assert!(module_is_listed(&"*a".repeat(30), &name));
        assert!(!module_is_listed(
            &format!("re:{}x", ".*".repeat(30)),
            &name
        ));
        assert!(module_is_listed(
            &format!("re:{}a$", ".*".repeat(30)),
            &name
        ));
        assert!(!module_is_listed(
            &format!("re:{}$", "a?".repeat(60) + &"a".repeat(60)),
            &"a".repeat(59)
        ));
    }

    #[test]
    fn regex_details() {
        assert!(module_is_listed("re:a+b", "aaab"));
        assert!(!module_is_listed("re:a+b", "b"));
        assert!(module_is_listed("re:ab?c", "ac"));
        assert!(module_is_listed("re:a$b", "a$b"));
        assert!(module_is_listed("re:a\\.b", "a.b"));
        assert!(!module_is_listed("re:a\\.b$", "axb"));
        assert!(module_is_listed("re:", "anything"));
        assert!(module_is_listed("re:x|", "anything"));
        assert!(module_is_listed("[!x]b", "ab"));
        assert!(!module_is_listed("[ab", "a"));
        assert!(module_is_listed("a?c*", "abcdef"));
    }
}
