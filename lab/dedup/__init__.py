"""Corpus deduplication and quality filtering (exact, MinHash-LSH, SemDeDup, Swallow/Gopher rules)."""
