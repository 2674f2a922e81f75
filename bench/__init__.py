"""Benchmarks: seeded scripts that print the figures bench/README.md defines, and
`python -m bench.compare`, which runs them on a base commit and on the working tree in turn."""
