"""What every chat model here stands on: LangChain's streaming plumbing, written once."""
