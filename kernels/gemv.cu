// Fused low-bit GEMV kernels: y[M, N] = x[M, K] * W^T (see src/cuda/gemv.rs).
