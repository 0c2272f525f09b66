"""Gradio 6 front end: one module per tab; tabs only build specs and read run folders."""
