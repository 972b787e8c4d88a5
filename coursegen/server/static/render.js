// Draw the shown course from its state: status, progress, themes, topics, glossary, report.
import { $, el } from "./dom.js";
import { stageLabel } from "./info.js";
import { setLanguage } from "./language.js";
import { renderMaterial } from "./material.js";
import { showReview } from "./review.js";
import { ACTIVE, FINISHED, state, streamKey, topicOf } from "./state.js";

export const STATUS_TEXT = {
  loading: "Loading the course…",
  missing: "There is no such course.",
  queued: "Queued: waiting for a worker…",
  running: "Writing the course…",
  awaiting_review: "Waiting for your review of the outline",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function renderAll() {
  const course = state.course;
  $("c-name").textContent = course.course_name || "Course";
  $("c-name").hidden = state.status === "missing";
  $("c-description").textContent = course.description || "";
  $("c-description").hidden = !course.description;
  document.title = `${course.course_name || "Course"} — coursegen`;
  $("coverage").hidden = true; // a `review` event of this job shows it again
  renderThemes();
  renderStatus();
}

export function renderStatus() {
  const status = state.status || "loading";
  const view = $("view");
  view.dataset.status = status;
  const line = $("status");
  line.dataset.status = status;
  let text = status === "missing" ? state.missing : STATUS_TEXT[status] || status;
  if (status === "running" && state.stage) text = `Writing the course: ${stageLabel(state.stage)}…`;
  if (line.dataset.connection === "lost" && !state.ended && ACTIVE.has(status)) {
    text += " (connection lost, reconnecting…)";
  }
  line.textContent = text;

  const error = $("job-error");
  const failed = status === "failed" && state.error;
  error.hidden = !failed;
  error.textContent = failed ? `Error: ${state.error.message || state.error.code}` : "";

  $("cancel").hidden = !ACTIVE.has(status);
  $("cancel").disabled = false;
  // Progress only for a course that is there: not while it loads, not for an unknown one.
  const known = status !== "loading" && status !== "missing";
  $("progress").hidden = !known;
  $("progress-text").hidden = !known;

  exportsVisibility();
  for (const link of $("exports").querySelectorAll("a[data-format]")) {
    link.href = `/courses/${encodeURIComponent(state.job)}/export?format=${link.dataset.format}`;
  }

  if (status === "awaiting_review" && state.review) {
    if (!state.reviewShown) {
      state.reviewShown = true;
      showReview(state.review);
    }
  } else {
    $("review").hidden = true;
    state.reviewShown = false;
  }
  renderProgress();
}

export function renderProgress() {
  const { done = 0, total = 0 } = state.progress || {};
  const bar = $("progress");
  bar.max = Math.max(total, 1);
  bar.value = Math.min(done, bar.max);
  bar.setAttribute("aria-valuetext", `${done} of ${total}`);
  const parts = [`${done} of ${total} model calls`];
  if (state.stage && ACTIVE.has(state.status)) parts.push(`stage: ${stageLabel(state.stage)}`);
  if (state.usage) parts.push(`${Number(state.usage.total_tokens || 0).toLocaleString()} tokens`);
  $("progress-text").textContent = parts.join(" · ");
}

// The form's submit is handled by the page (main.js), found by its data-theme / data-topic.
function regenControl(label, theme, topic) {
  const id = `regen-${theme}-${topic ?? "all"}`;
  const form = el(
    "form",
    { className: "regen-form", dataset: { theme: String(theme), topic: String(topic ?? "") } },
    el("label", { for: id, text: "Instructions (optional)" }),
    el("input", {
      id,
      type: "text",
      maxlength: "2000",
      placeholder: "e.g. simpler, more examples",
      className: "regen-instructions",
    }),
    el("button", { type: "submit", className: "secondary", text: label }),
    el("span", { className: "error", role: "alert", hidden: true }),
  );
  return el("details", { className: "regen" }, el("summary", { text: `${label}…` }), form);
}

export function renderThemes() {
  const list = $("themes");
  setLanguage(list);
  setLanguage($("c-name"));
  setLanguage($("c-description"));
  list.replaceChildren(
    ...state.course.themes.map((theme, i) =>
      el(
        "li",
        { className: "theme panel", dataset: { theme: String(i) } },
        el(
          "h3",
          { className: "theme-title" },
          el("span", { className: "num", text: `${i + 1}.` }),
          " ",
          theme.title,
        ),
        el("p", { className: "theme-desc muted", text: theme.description }),
        el("p", { className: "error theme-error", hidden: true }),
        regenControl("Regenerate theme", i, null),
        el("ol", { className: "topics" }),
      ),
    ),
  );
  state.course.themes.forEach((_, i) => {
    renderThemeError(i);
    renderTopics(i);
  });
  exportsVisibility();
  renderGlossary();
}

// Each term the lessons define, once (the first lesson in course order wins, as in the
// course's own glossary), with the number of the topic that introduces it.
export function renderGlossary() {
  const seen = new Set();
  const items = [];
  state.course.themes.forEach((theme, i) =>
    (theme.topics || []).forEach((topic, j) => {
      for (const entry of topic.content?.definitions || []) {
        const key = (entry.term || "").trim().toLowerCase();
        if (!key || seen.has(key)) continue;
        seen.add(key);
        items.push(
          el("dt", { text: entry.term }),
          el("dd", { text: `${entry.definition} (${i + 1}.${j + 1} ${topic.title})` }),
        );
      }
    }),
  );
  setLanguage($("glossary"));
  $("glossary-list").replaceChildren(...items);
  $("glossary").hidden = !items.length;
}

export function renderCoverage(uncovered) {
  const node = $("coverage");
  node.textContent = uncovered.length
    ? `Requirements no topic covers: ${uncovered.join("; ")}`
    : "Every requirement item is covered by a planned topic.";
  node.hidden = false;
}

// The quality report of a finished course: one row per line of its summary (null: hidden).
export function renderReport(report) {
  const rows = Object.entries(report?.summary || {}).map(([name, value]) =>
    el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value })),
  );
  $("report-rows").replaceChildren(...rows);
  $("report").hidden = rows.length === 0;
}

// Downloads once the run is over: during review or writing the course is not there yet.
function exportsVisibility() {
  $("exports").hidden = !(FINISHED.has(state.status) && state.course.themes.length);
}

export function renderThemeError(i) {
  const node = themeNode(i)?.querySelector(".theme-error");
  const error = state.course.themes[i]?.error;
  if (!node) return;
  node.hidden = !error;
  node.textContent = error ? `The topics of this theme could not be written: ${error}` : "";
}

function themeNode(i) {
  return $("themes").querySelector(`li.theme[data-theme="${i}"]`);
}

export function renderTopics(i) {
  const node = themeNode(i);
  if (!node) return;
  const topics = state.course.themes[i].topics || [];
  node.querySelector("ol.topics").replaceChildren(
    ...topics.map((topic, j) =>
      el(
        "li",
        { className: "topic", dataset: { theme: String(i), topic: String(j) } },
        el(
          "h4",
          { className: "topic-title" },
          el("span", { className: "num", text: `${i + 1}.${j + 1}` }),
          " ",
          topic.title,
        ),
        el("p", { className: "topic-desc muted", text: topic.description }),
        el(
          "div",
          { className: "writing", hidden: true },
          el("p", { className: "writing-label" }),
          el("pre", { className: "writing-text", tabindex: "0" }),
        ),
        el("div", { className: "material" }),
        el("p", { className: "error topic-error", hidden: true }),
        regenControl("Regenerate topic", i, j),
      ),
    ),
  );
  topics.forEach((_, j) => renderTopic(i, j));
}

function topicNode(i, j) {
  return $("themes").querySelector(`li.topic[data-theme="${i}"][data-topic="${j}"]`);
}

export function renderTopic(i, j) {
  const node = topicNode(i, j);
  const topic = topicOf(i, j);
  if (!node || !topic) return;
  node.querySelector(".material").replaceChildren(renderMaterial(topic, i, j));
  const error = node.querySelector(".topic-error");
  error.hidden = !topic.error;
  error.textContent = topic.error ? `This topic could not be written: ${topic.error}` : "";
  renderWriting(i, j);
}

export function renderWriting(i, j) {
  const node = topicNode(i, j);
  const topic = topicOf(i, j);
  if (!node || !topic) return;
  const polish = state.streams.get(streamKey("polish", i, j));
  const content = state.streams.get(streamKey("content", i, j));
  const writing = polish ?? content;
  const box = node.querySelector(".writing");
  box.hidden = writing === undefined;
  if (writing !== undefined) {
    box.querySelector(".writing-label").textContent =
      polish !== undefined ? "Polishing…" : "Writing…";
    const pre = box.querySelector(".writing-text");
    pre.textContent = writing;
    pre.scrollTop = pre.scrollHeight;
  }
  let topicState = "pending";
  if (writing !== undefined) topicState = "writing";
  else if (topic.error && !topic.content && !topic.polished) topicState = "failed";
  else if (topic.polished) topicState = "polished";
  else if (topic.content) topicState = "draft";
  node.dataset.state = topicState;
}

// Every topic, again (the checked citations arrived with GET /courses/{id}).
export function renderAllTopics() {
  state.course.themes.forEach((theme, i) =>
    (theme.topics || []).forEach((_, j) => renderTopic(i, j)),
  );
}

// The id of the last event whose effect is on screen (for a reload check, or a test).
export function showRendered(current) {
  if (state === current) $("view").dataset.lastEventId = String(current.lastId);
}
