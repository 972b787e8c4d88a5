"""Wire the course pipeline: outline → review → topics per theme → plan → lessons → course."""

from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from coursegen.chains.stages import CourseChains, build_course_chains
from coursegen.graph.context import Context
from coursegen.graph.nodes import ChainsResolver, CourseNodes
from coursegen.graph.regenerate import RegenerateNodes
from coursegen.graph.state import InputState, OutputState, RegenerateState, State
from coursegen.names import StructuredMode
from coursegen.providers.loading import ModelOptions, load_chat_model
from coursegen.settings import Settings

GRAPH_NAME = "coursegen"


@lru_cache(maxsize=8)
def chains_from_env(model: str | None, mode: StructuredMode | None) -> CourseChains:
    """Build (once per model and mode) the chains for a model chosen by name or by the settings.

    What the run's context leaves unset (the model, the mode), the endpoint, the key and the
    call knobs come from `Settings`, as in the server. Read here, not once per process:
    `langgraph dev` and tests set the environment after import.
    """
    settings = Settings()
    chat = load_chat_model(model or settings.model, ModelOptions.from_settings(settings))
    return build_course_chains(chat, mode or settings.structured_output)


def _resolver(model: BaseChatModel | None, mode: StructuredMode | None) -> ChainsResolver:
    fixed = build_course_chains(model, mode or "json_schema") if model is not None else None

    def resolve(runtime: Runtime[Context] | None) -> CourseChains:
        if fixed is not None:
            return fixed
        context = (runtime.context if runtime else None) or Context()
        return chains_from_env(context.model, mode or context.structured_output)

    return resolve


def make_builder(
    model: BaseChatModel | None = None, mode: StructuredMode | None = None
) -> StateGraph[Any, Any, Any, Any]:
    """Return the uncompiled course graph; without a model, it is chosen at run time."""
    nodes = CourseNodes(_resolver(model, mode))
    builder = StateGraph(
        State, context_schema=Context, input_schema=InputState, output_schema=OutputState
    )
    builder.add_node("plan_outline", nodes.plan_outline)
    builder.add_node("review_outline", nodes.review_outline)
    # mypy cannot match a node that takes a TypedDict `Send` payload against `StateNode`
    builder.add_node("plan_topics", nodes.plan_topics)  # type: ignore[arg-type]
    builder.add_node("plan_course", nodes.plan_course)
    builder.add_node("write_topic", nodes.write_topic)  # type: ignore[arg-type]
    builder.add_node("assemble", nodes.assemble)
    builder.add_edge(START, "plan_outline")
    builder.add_edge("plan_outline", "review_outline")
    builder.add_conditional_edges("review_outline", nodes.fan_out_themes, ["plan_topics"])
    # The barrier: the course map needs every theme's topics (the slowest topics call is on
    # the critical path anyway); a coverage revision loops back through plan_topics once.
    builder.add_edge("plan_topics", "plan_course")
    builder.add_conditional_edges(
        "plan_course", nodes.route_plan, ["plan_topics", "write_topic", "assemble"]
    )
    builder.add_edge("write_topic", "assemble")
    builder.add_edge("assemble", END)
    return builder


def make_regenerate_builder(
    model: BaseChatModel | None = None, mode: StructuredMode | None = None
) -> StateGraph[Any, Any, Any, Any]:
    """Return the graph that rewrites one theme or topic of an existing course."""
    nodes = RegenerateNodes(CourseNodes(_resolver(model, mode)))
    regen = StateGraph(RegenerateState, context_schema=Context)
    regen.add_node("regenerate", nodes.regenerate)
    regen.add_edge(START, "regenerate")
    regen.add_edge("regenerate", END)
    return regen


def build_graph(
    *,
    checkpointer: Checkpointer = None,
    model: BaseChatModel | None = None,
    mode: StructuredMode | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the course graph: the public entry point for other chains and the server."""
    return make_builder(model, mode).compile(checkpointer=checkpointer, name=GRAPH_NAME)


builder = make_builder()
# Checkpoint-free on purpose: `langgraph dev` refuses a graph with its own checkpointer.
graph = builder.compile(name=GRAPH_NAME)
