"""Evaluation: answer generation, LLM-as-judge with its own bias diagnostics, llm-jp-eval-style
automatic metrics, and an OpenAI-compatible server for the lab's models.

  spec.py          JudgeSpec (kind judge) and EvalSpec (kind eval)
  questions.py     MT-bench / Japanese Vicuna QA question files
  answers.py       contestants answer (FastChat answer files)
  prompts.py       the judge prompts (ja, en) in MT-bench verdict conventions
  verdicts.py      reading [[A]] / [[B]] / [[C]] and [[rating]], or "unparsed"
  local_judge.py   the local judge (endpoints, retries and the reply cache are
                   lab/models/openai_client.py; log-probability verdicts lab/models/logprob_judge.py)
  judge_job.py     the `judge` job
  aggregate.py     win rates, bootstrap intervals, Bradley–Terry with a position term
  bias.py          position consistency, first-position preference, length bias, self-judging
  summary.py       summary.json
  results.py       the viewer's items, human overrides, exports
  outputs.py       where a judge or eval run keeps its files (artifacts/; the run folder for older runs)
  tasks.py, metrics/, mc_loglik.py, metrics_job.py   the `eval` job (log-likelihoods: lab/models/loglik.py)
  generation.py    local generation (answers, the local judge, `lab serve`)
  serve.py, cli.py `lab serve`
"""
