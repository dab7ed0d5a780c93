"""The benchmark: seeds a large synthetic clinic network and measures PsiFlow's pages on it.

`python -m bench.run --patients N` (or `make bench`): see bench/README.md.
"""
