"""Run a GGUF model in-process with llama.cpp: files, grammar, sampling, stops, chat model."""
