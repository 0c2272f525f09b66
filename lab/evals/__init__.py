"""Evaluation: answer generation, LLM-as-judge, and llm-jp-eval-style automatic metrics."""
