"""Retrieval-augmented generation: persistent Chroma indexes through LangChain, Japanese-aware hybrid retrieval."""
