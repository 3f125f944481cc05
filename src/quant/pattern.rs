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
            a == pattern || a.ends_with(&format!(".{pattern}"))
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
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'[') => match p.iter().position(|&c| c == b']') {
            Some(end) if !s.is_empty() => {
                let class = &p[1..end];
                let (neg, class) = match class.first() {
                    Some(b'!') => (true, &class[1..]),
                    _ => (false, class),
                };
                (class.contains(&s[0]) != neg) && glob(&p[end + 1..], &s[1..])
            }
            _ => false,
        },
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

/// A small backtracking regex: literals, `\` escapes, `.`, `*`, `+`, `?`, `$`, `|` at the
/// top level; anchored at the start like Python's `re.match`. Enough for the patterns
/// llm-compressor writes (`re:.*lm_head`, `re:.*mlp.gate$`).
fn regex_match_start(p: &[u8], s: &[u8]) -> bool {
    if let Some(bar) = top_level_bar(p) {
        return regex_match_start(&p[..bar], s) || regex_match_start(&p[bar + 1..], s);
    }
    re_here(p, s)
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

/// One atom of the pattern: (matcher, length in pattern bytes).
fn atom(p: &[u8]) -> (Option<u8>, usize) {
    match p[0] {
        b'\\' if p.len() > 1 => (Some(p[1]), 2),
        b'.' => (None, 1),
        c => (Some(c), 1),
    }
}

fn re_here(p: &[u8], s: &[u8]) -> bool {
    if p.is_empty() {
        return true;
    }
    if p == b"$" {
        return s.is_empty();
    }
    let (m, len) = atom(p);
    let hit = |c: u8| m.map_or(true, |x| x == c);
    let rest = &p[len..];
    match rest.first() {
        Some(b'*') | Some(b'+') => {
            let min = usize::from(rest[0] == b'+');
            let mut n = 0;
            while n < s.len() && hit(s[n]) {
                n += 1;
            }
            (min..=n).rev().any(|i| re_here(&rest[1..], &s[i..]))
        }
        Some(b'?') => {
            (!s.is_empty() && hit(s[0]) && re_here(&rest[1..], &s[1..])) || re_here(&rest[1..], s)
        }
        _ => !s.is_empty() && hit(s[0]) && re_here(rest, &s[1..]),
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
}
