"""The stock peer: coursegen's pipeline as a user would build it from LangChain parts."""
