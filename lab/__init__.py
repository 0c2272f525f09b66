"""LLM Lab core: specs, runs, worker, data, training, models. Never imports gradio."""
__version__ = "0.1.0"
