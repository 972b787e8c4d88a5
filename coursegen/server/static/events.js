// Apply each event of the job's log to the state and redraw what it changed.
import {
  renderCoverage,
  renderGlossary,
  renderProgress,
  renderReport,
  renderStatus,
  renderThemeError,
  renderThemes,
  renderTopic,
  renderTopics,
  renderWriting,
  showRendered,
} from "./render.js";
import { state, streamKey, topicOf } from "./state.js";

function closeStream(stage, d, kind) {
  const topic = topicOf(d.theme, d.topic);
  if (!topic) return;
  topic[kind] = d[kind];
  topic.error = null;
  state.streams.delete(streamKey(stage, d.theme, d.topic));
  renderTopic(d.theme, d.topic);
  if (kind === "content") renderGlossary();
}

// Token deltas are drawn in batches (every 40 ms), not one redraw per delta.
function flushWriting() {
  const current = state;
  if (!current) return;
  current.writingTimer = null;
  for (const key of current.writingDirty) {
    const [i, j] = key.split("/").map(Number);
    renderWriting(i, j);
  }
  current.writingDirty.clear();
  showRendered(current);
}

// One handler per event type of docs/events.md (types without one are ignored).
export const handlers = {
  status(d) {
    state.status = d.status;
    renderStatus();
  },
  stage(d) {
    state.stage = d.stage;
    renderStatus();
  },
  progress(d) {
    state.progress = d;
    if (d.stage && d.stage !== state.stage) {
      state.stage = d.stage;
      renderStatus();
    } else renderProgress();
  },
  usage(d) {
    state.usage = d.total?.total || null;
    renderProgress();
  },
  outline(d) {
    const old = state.course.themes;
    const keep = !d.edited;
    if (d.language) state.course.language = d.language;
    state.course.themes = d.outline.themes.map((t, i) => ({
      title: t.title,
      description: t.description,
      topics: keep && i < old.length ? old[i].topics || [] : [],
    }));
    if (!keep) state.streams.clear();
    renderThemes();
    renderStatus();
  },
  review(d) {
    if (d.coverage) {
      // The plan's requirements check (no pause): say which items no topic covers.
      renderCoverage(d.uncovered || []);
      return;
    }
    state.review = d.outline;
    state.reviewShown = false;
  },
  topics(d) {
    const theme = state.course.themes[d.theme];
    if (!theme) return;
    theme.error = null;
    renderThemeError(d.theme);
    theme.topics = d.topics.topics.map((t) => ({
      title: t.title,
      description: t.description,
      content: null,
      polished: null,
      error: null,
    }));
    for (const key of [...state.streams.keys()]) {
      if (key.split("/")[1] === String(d.theme)) state.streams.delete(key);
    }
    renderTopics(d.theme);
  },
  token(d) {
    // The outline's and the topic lists' answers appear as themes and topics moments
    // later; only a topic's lesson and polish are shown while they are written.
    if (d.topic === null || d.topic === undefined) return;
    const key = streamKey(d.stage, d.theme, d.topic);
    state.streams.set(key, d.start ? "" : (state.streams.get(key) || "") + (d.text || ""));
    state.writingDirty.add(`${d.theme}/${d.topic}`);
    if (!state.writingTimer) state.writingTimer = setTimeout(flushWriting, 40);
  },
  content(d) {
    // The checked citations (titles, pages) come with the lesson, before the course ends.
    if (d.citations?.length) state.citations.set(`${d.theme}/${d.topic}`, d.citations);
    closeStream("content", d, "content");
  },
  polished(d) {
    closeStream("polish", d, "polished");
  },
  error(d) {
    if (d.topic !== undefined && d.topic !== null && d.theme !== undefined) {
      const topic = topicOf(d.theme, d.topic);
      if (!topic) return;
      topic.error = d.message || "error";
      state.streams.delete(streamKey("content", d.theme, d.topic));
      state.streams.delete(streamKey("polish", d.theme, d.topic));
      renderTopic(d.theme, d.topic);
    } else if (d.theme !== undefined && d.theme !== null) {
      // This theme's topic list could not be written; the other themes go on.
      const theme = state.course.themes[d.theme];
      if (!theme) return;
      theme.error = d.message || "error";
      renderThemeError(d.theme);
    } else {
      state.error = d;
      renderStatus();
    }
  },
  report(d) {
    renderReport(d);
  },
  end(d) {
    state.status = d.status;
    state.ended = true;
    // A cancelled or failed run leaves half-written streams: nothing writes them any more.
    const touched = [...state.streams.keys()].map((k) => k.split("/").slice(1).join("/"));
    state.streams.clear();
    for (const key of touched) {
      const [i, j] = key.split("/").map(Number);
      renderTopic(i, j);
    }
    renderStatus();
  },
};
