//! Basic round trips and named rejections of the container layer.

use safeweights::container::{parse_header, Limits, SafeTensorsFile, Writer};
use safeweights::dtype::Dtype;

fn codes(bytes: &[u8], limits: &Limits) -> Vec<&'static str> {
    parse_header(bytes, bytes.len() as u64, limits)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

fn raw(header: &str, data_len: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.resize(v.len() + data_len, 0);
    v
}

#[test]
fn write_then_open_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let a: Vec<u8> = (0..24u8).collect();
    let mut w = Writer::new();
    w.add("a", Dtype::F32, vec![2, 3], a.clone()).unwrap();
    w.add("s", Dtype::BF16, vec![], vec![1, 2]).unwrap();
    w.add("e", Dtype::U8, vec![0, 4], Vec::new()).unwrap();
    w.add_streamed(
        "f4",
        Dtype::F4,
        vec![6],
        Box::new(|o: &mut dyn std::io::Write| o.write_all(&[7, 8, 9])),
    )
    .unwrap();
    w.metadata("format", "pt");
    w.write_atomic(&path).unwrap();
    let f = SafeTensorsFile::open(&path, &Limits::default()).unwrap();
    assert_eq!(f.tensor("a").unwrap().data, &a[..]);
    assert_eq!(f.tensor("s").unwrap().shape, &[] as &[u64]);
    assert_eq!(f.tensor("f4").unwrap().data, &[7, 8, 9]);
    assert_eq!(f.tensor("e").unwrap().data.len(), 0);
    assert_eq!(f.header().metadata.as_ref().unwrap()["format"], "pt");
    for t in &f.header().tensors {
        assert!(f.alignment(t).element_aligned, "{}", t.name);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn streamed_size_mismatch_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut w = Writer::new();
    w.add_streamed(
        "x",
        Dtype::F32,
        vec![4],
        Box::new(|o: &mut dyn std::io::Write| o.write_all(&[0; 8])),
    )
    .unwrap();
    assert!(w.write_atomic(&path).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn duplicate_conflicting_keys_are_rejected() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}"#;
    assert!(codes(&raw(h, 4), &Limits::default()).contains(&"ST013"));
}

#[test]
fn dimension_order_does_not_change_the_verdict() {
    let m = u64::MAX;
    for shape in [format!("[0,{m},{m}]"), format!("[{m},2,0]")] {
        let h = format!(r#"{{"a":{{"dtype":"U8","shape":{shape},"data_offsets":[0,0]}}}}"#);
        assert_eq!(
            codes(&raw(&h, 0), &Limits::default()),
            vec!["ST026"],
            "{shape}"
        );
    }
}

#[test]
fn trailing_bytes_and_truncation_are_named() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
    assert_eq!(codes(&raw(h, 5), &Limits::default()), vec!["ST034"]);
    assert_eq!(codes(&raw(h, 3), &Limits::default()), vec!["ST035"]);
    assert!(codes(&raw(h, 4), &Limits::default()).is_empty());
}

#[test]
fn lenient_mode_keeps_valid_entries_and_summarises() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"Q9","shape":[4],"data_offsets":[4,8]}}"#;
    let bytes = raw(h, 8);
    let p = parse_header(&bytes, bytes.len() as u64, &Limits::default().lenient());
    let hdr = p.header.expect("lenient keeps a header");
    assert_eq!(hdr.tensors.len(), 1);
    assert_eq!(hdr.tensors[0].name, "a");
    let codes: Vec<_> = p.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["ST023", "ST036", "ST037"]);
    assert!(p.diagnostics[2].message.contains("ST023: 1"));
}
