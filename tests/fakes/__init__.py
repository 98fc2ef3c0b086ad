"""Test doubles shared by the tests and the benchmarks: a loopback judge/LLM server (``judge_server``),
verl's LLM client scripted (``verl_fakes``) and the tiny tokenizer and model (``tiny_hf``)."""
