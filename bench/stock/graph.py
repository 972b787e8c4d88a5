"""Build the course pipeline the way the LangGraph documentation writes it, from stock parts.

This is the peer a user would build instead of coursegen: stock `ChatOpenAI(streaming=True)`
with `.with_structured_output(Schema, method="json_schema")`, one `Send` per theme, the
topics of a theme written concurrently (content, then polish, per topic), an in-memory
runtime. Nothing of coursegen is imported: prompts, schemas and the model client are the
ones a tutorial would write. The prompts carry what the benchmark's simulated model reads
(`exactly N`, a `<course_data>` block), and the schema names are the stages it answers.
"""

import asyncio
import json
import operator
import os
from typing import Annotated, Any

from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class ThemePlan(BaseModel):
    title: str = Field(description="Theme title")
    description: str = Field(description="What the theme covers")


class Outline(BaseModel):
    themes: list[ThemePlan] = Field(description="The course's themes, in order")


class TopicPlan(BaseModel):
    title: str = Field(description="Topic title")
    description: str = Field(description="What the lesson teaches")
    key_terms: list[str] = Field(description="Terms the lesson defines")


class ThemeTopics(BaseModel):
    topics: list[TopicPlan] = Field(description="The theme's topics, in order")


class Example(BaseModel):
    title: str
    problem: str
    solution: str


class Question(BaseModel):
    question: str
    answer: str


class Definition(BaseModel):
    term: str
    definition: str


class TopicContent(BaseModel):
    body_markdown: str = Field(description="The lesson, in Markdown")
    key_points: list[str]
    examples: list[Example]
    self_check: list[Question]
    definitions: list[Definition]


class PolishedTopic(BaseModel):
    summary: str
    body_markdown: str
    key_points: list[str]


class State(TypedDict, total=False):
    request: dict[str, Any]
    outline: dict[str, Any]
    themes: Annotated[list[dict[str, Any]], operator.add]


class ThemeState(TypedDict):
    request: dict[str, Any]
    theme: dict[str, Any]


# One model and one structured runnable per stage, built at import as the tutorials do.
llm = ChatOpenAI(
    model=os.environ.get("STOCK_MODEL", "bench"),
    base_url=os.environ.get("STOCK_BASE_URL"),
    api_key=os.environ.get("STOCK_API_KEY", "not-needed"),  # type: ignore[arg-type]
    streaming=True,
    timeout=600,
)
planner = llm.with_structured_output(Outline, method="json_schema")
theme_planner = llm.with_structured_output(ThemeTopics, method="json_schema")
writer = llm.with_structured_output(TopicContent, method="json_schema")
editor = llm.with_structured_output(PolishedTopic, method="json_schema")


def messages(system: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    block = json.dumps(data, ensure_ascii=False)
    return [("system", system), ("user", f"<course_data>\n{block}\n</course_data>")]


def options(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request.get("options") or {})


async def plan(state: State) -> dict[str, Any]:
    request = state["request"]
    system = f"You plan courses. Write exactly {options(request).get('themes', 3)} themes."
    outline = await planner.ainvoke(messages(system, request))
    return {"outline": outline.model_dump()}  # type: ignore[union-attr]


def to_themes(state: State) -> list[Send]:
    return [
        Send("theme", {"request": state["request"], "theme": theme})
        for theme in state["outline"]["themes"]
    ]


async def topic(request: dict[str, Any], theme: dict[str, Any], plan: TopicPlan) -> dict[str, Any]:
    data = {"course_name": request["course_name"], "theme": theme, "topic": plan.model_dump()}
    content = await writer.ainvoke(messages("You write one lesson of a course.", data))
    polish_data = {**data, "draft": content.model_dump()}  # type: ignore[union-attr]
    polished = await editor.ainvoke(messages("You edit a lesson.", polish_data))
    return polished.model_dump()  # type: ignore[union-attr]


async def theme(state: ThemeState) -> dict[str, Any]:
    request, theme = state["request"], state["theme"]
    count = options(request).get("topics_per_theme", 3)
    data = {"course_name": request["course_name"], "theme": theme}
    topics = await theme_planner.ainvoke(
        messages(f"You plan a theme. Write exactly {count} topics.", data)
    )
    lessons = await asyncio.gather(
        *(topic(request, theme, plan) for plan in topics.topics)  # type: ignore[union-attr]
    )
    return {"themes": [{**theme, "topics": list(lessons)}]}


builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("theme", theme)
builder.add_edge(START, "plan")
builder.add_conditional_edges("plan", to_themes, ["theme"])
builder.add_edge("theme", END)
graph = builder.compile(name="stock-course")
