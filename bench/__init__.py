"""Benchmarks run by `make bench`. Each module `bench/bench_<name>.py` defines `run() -> BenchResult`."""
