"""The CPU test suite; a package so that ``tests.fakes`` (shared with the benchmarks) imports from the repo root."""
