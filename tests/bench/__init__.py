"""The benchmarks (bench/) at a tiny size."""
