"""Expose the course graph: `graph`, `builder` and `build_graph(checkpointer=..., model=...)`."""

from coursegen.graph.graph import build_graph, builder, graph, make_builder

__all__ = ["build_graph", "builder", "graph", "make_builder"]
