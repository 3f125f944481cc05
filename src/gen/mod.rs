//! Generators: spec-exact quantizers, a quantized model-directory synthesizer, named
//! mutators and the hostile-file corpus, all deterministic from a seed. Files are written
//! only through the container's `Writer`.

pub mod encode;
pub mod hostile;
pub mod model;
pub mod mutate;
pub mod quantize;
pub mod rng;
