"""Load and describe the chat models that write courses (OpenAI, compatible, llama.cpp, sandbox)."""
