"""Benchmarks of coursegen against a simulated OpenAI-compatible LLM (`make bench`)."""
