//! Target `config`: config.json text (arbitrary bytes, and mutations of the generators'
//! real-looking configs seeded into the corpus) into [`parse_config_str`].

use crate::model::config::{normalize_config, parse_config_str};
use crate::model::rope::rope_json;

/// Never panics; parsing the text and normalising the parsed value agree; a normalised
/// config's derived values (tensor-parallel sizes, RoPE tables, RoPE JSON) compute.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((raw, cfg, diags)) = parse_config_str(text) else {
        return;
    };
    let (again, diags_again) = normalize_config(&raw).expect("normalising twice agrees");
    assert_eq!(cfg, again, "normalisation is deterministic");
    assert_eq!(diags, diags_again);
    let _ = cfg.tensor_parallel_sizes();
    let _ = rope_json(&cfg.rope);
    if let Some(head_dim) = cfg.head_dim {
        if let Some(t) = cfg
            .rope
            .main
            .inv_freq(head_dim, cfg.max_position_embeddings)
        {
            assert!(t.len() <= 1 << 19, "RoPE table larger than its cap");
        }
        for r in cfg.rope.per_layer_type.values() {
            let _ = r.inv_freq(head_dim, cfg.max_position_embeddings);
        }
    }
}
