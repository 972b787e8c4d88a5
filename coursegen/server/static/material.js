// A written topic: its lesson, key points, examples, self-check and the sources it cites.
import { el } from "./dom.js";
import { inline, markdown } from "./markdown.js";
import { state } from "./state.js";

// The topic's references, numbered as its [n] markers: each marker's quote comes with the
// lesson; the source's title and page with its `content` event or the checked course
// (GET /courses/{id}), used only where the quote is the same (a regeneration may cite others).
function references(topic, i, j, anchor) {
  const cited = topic.content?.citations || [];
  if (!cited.length) return null;
  const checked = state.citations.get(`${i}/${j}`) || [];
  const items = cited.map((c, k) => {
    const source = checked[k]?.quote === c.quote ? checked[k] : null;
    const data = source ? { source: source.source_id } : null;
    return el(
      "li",
      { id: `${anchor}-${k + 1}`, tabindex: "-1", dataset: data },
      source ? el("cite", { text: source.title }) : null,
      source?.page ? `, p. ${source.page}` : "",
      source ? ": " : "",
      el("q", { text: c.quote }),
    );
  });
  return el(
    "div",
    { className: "references" },
    el("h5", { text: "References" }),
    el("ol", {}, items),
  );
}

export function renderMaterial(topic, i, j) {
  const out = document.createDocumentFragment();
  const polished = topic.polished;
  const content = topic.content;
  if (!polished && !content) return out;
  const badge = polished ? "polished" : "draft";
  const anchor = `ref-${i}-${j}`;
  const cite = { anchor, count: content?.citations?.length || 0 };
  out.append(el("p", { className: `badge ${badge}`, text: badge }));
  if (polished?.summary) {
    out.append(el("div", { className: "summary" }, markdown(polished.summary, 5)));
  }
  out.append(
    el("div", { className: "body" }, markdown((polished || content).body_markdown, 4, cite)),
  );
  const points = (polished || content).key_points || [];
  if (points.length) {
    out.append(
      el("h5", { text: "Key points" }),
      el("ul", { className: "key-points" }, points.map((p) => el("li", {}, inline(p)))),
    );
  }
  const examples = content?.examples || [];
  if (examples.length) {
    out.append(
      el("h5", { text: "Worked examples" }),
      ...examples.map((ex) =>
        el(
          "div",
          { className: "example" },
          el("h6", {}, inline(ex.title || "Example")),
          el("div", {}, markdown(ex.problem, 5)),
          el(
            "details",
            {},
            el("summary", { text: "Solution" }),
            el("div", {}, markdown(ex.solution, 5)),
          ),
        ),
      ),
    );
  }
  const questions = content?.self_check || [];
  if (questions.length) {
    out.append(
      el("h5", { text: "Self-check" }),
      el(
        "ol",
        { className: "self-check" },
        questions.map((q) =>
          el(
            "li",
            {},
            el("div", {}, markdown(q.question, 5)),
            el(
              "details",
              {},
              el("summary", { text: "Show answer" }),
              el("div", {}, markdown(q.answer, 5)),
            ),
          ),
        ),
      ),
    );
  }
  const cited = references(topic, i, j, anchor);
  if (cited) out.append(cited);
  return out;
}
