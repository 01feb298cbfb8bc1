"""petdx benchmarks: each compares petdx with a named peer measured in the same run."""
