"""Model access, one way each:

  load.py           name → model folder (tiny, run:<id>, a folder, a Hub id) and loading it
  cache.py          loaded local models kept for reuse, keyed by the resolved folder
  chat.py           streaming chat with local models, side by side
  openai_client.py  OpenAI-compatible endpoints: key rules, retries, the reply cache
  loglik.py         log-likelihood of continuations (multiple choice, log-prob verdicts)
  logprob_judge.py  a local model judging by the probabilities of its verdicts
  device.py, utf8.py, tiny.py, embedded_checks.py   placement, whole-character output, the embedded model
"""
