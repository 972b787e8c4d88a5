// coursegen web page: create a course, follow its event log live, review, regenerate, export.
// Every piece of model or user text goes into the page as a text node (textContent or
// createTextNode); no HTML string is ever parsed into the page.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const RTL = new Set(["ar", "fa", "he", "ur", "yi"]);
  const ACTIVE = new Set(["queued", "running", "awaiting_review"]);
  const FINISHED = new Set(["completed", "failed", "cancelled"]);
  const STATUS_TEXT = {
    loading: "Loading the course…",
    missing: "There is no such course.",
    queued: "Queued: waiting for a worker…",
    running: "Writing the course…",
    awaiting_review: "Waiting for your review of the outline",
    completed: "Completed",
    failed: "Failed",
    cancelled: "Cancelled",
  };
  const STAGE_TEXT = {
    outline: "outline",
    topics: "topic lists",
    content: "lessons",
    polish: "polishing",
  };

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "on") {
        for (const [name, handler] of Object.entries(value)) node.addEventListener(name, handler);
      } else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // ------------------------------------------------------ Markdown (a safe subset)
  // Headings, paragraphs, lists, quotes, fenced code, **bold**, *italic*, `code`. Anything
  // else (raw HTML, links, images) stays visible as plain text.
  const INLINE =
    /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=[^\s*])([^*]*?[^\s*]|[^\s*])\*|(?<![\p{L}\p{N}])_(?=[^\s_])([^_]*?[^\s_]|[^\s_])_(?![\p{L}\p{N}])/gu;

  function inline(text) {
    const out = document.createDocumentFragment();
    let at = 0;
    for (const match of String(text).matchAll(INLINE)) {
      if (match.index > at) out.append(text.slice(at, match.index));
      if (match[1]) out.append(el("code", { text: match[2].trim() || match[2] }));
      else if (match[3] || match[4]) out.append(el("strong", {}, inline(match[3] || match[4])));
      else out.append(el("em", {}, inline(match[5] || match[6])));
      at = match.index + match[0].length;
    }
    if (at < text.length) out.append(text.slice(at));
    return out;
  }

  // The level of a text's top heading (outside code): it is shown one below `headingBase`.
  function topHeading(lines) {
    let fence = null;
    let top = 6;
    for (const line of lines) {
      if (fence) {
        if (line.trim().startsWith(fence)) fence = null;
        continue;
      }
      const open = line.match(/^\s*(```+|~~~+)/);
      if (open) fence = open[1];
      const heading = !open && line.match(/^\s{0,3}(#{1,6})\s+/);
      if (heading) top = Math.min(top, heading[1].length);
    }
    return top;
  }

  function markdown(source, headingBase = 4) {
    const out = document.createDocumentFragment();
    const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    // Nested, not demoted by a fixed amount: a lesson's `##` under an h4 topic is an h5.
    const shift = headingBase + 1 - topHeading(lines);
    let paragraph = [];
    let list = null;
    let quote = null;
    const endParagraph = () => {
      if (paragraph.length) out.append(el("p", {}, inline(paragraph.join(" "))));
      paragraph = [];
    };
    const endBlocks = () => {
      endParagraph();
      list = null;
      quote = null;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = line.match(/^\s*(```+|~~~+)\s*([\w+-]*)/);
      if (fence) {
        endBlocks();
        const body = [];
        while (++i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i]);
        const code = el("code", { text: body.join("\n") });
        if (fence[2]) code.dataset.lang = fence[2];
        out.append(el("pre", { className: "code" }, code));
        continue;
      }
      if (!line.trim()) {
        endBlocks();
        continue;
      }
      const heading = line.match(/^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/);
      if (heading) {
        endBlocks();
        const level = Math.min(6, heading[1].length + shift);
        out.append(el(`h${level}`, { className: "md-heading" }, inline(heading[2])));
        continue;
      }
      const item = line.match(/^\s*([-*+•]|\d{1,9}[.)])\s+(.*)$/);
      if (item) {
        endParagraph();
        quote = null;
        const ordered = /\d/.test(item[1]);
        if (!list || list.ordered !== ordered) {
          list = { ordered, node: el(ordered ? "ol" : "ul") };
          if (ordered && parseInt(item[1], 10) !== 1) list.node.start = parseInt(item[1], 10);
          out.append(list.node);
        }
        list.node.append(el("li", {}, inline(item[2])));
        continue;
      }
      const quoted = line.match(/^\s*>\s?(.*)$/);
      if (quoted) {
        endParagraph();
        list = null;
        if (!quote) {
          quote = el("blockquote");
          out.append(quote);
        }
        quote.append(el("p", {}, inline(quoted[1])));
        continue;
      }
      if (list && /^\s{2,}\S/.test(line)) {
        list.node.lastChild.append(" ", inline(line.trim()));
        continue;
      }
      list = null;
      quote = null;
      paragraph.push(line.trim());
    }
    endBlocks();
    return out;
  }

  // ------------------------------------------------------------------- state
  let state = null;
  let source = null;
  let retryTimer = null;

  function freshState(jobId) {
    return {
      job: jobId,
      lastId: 0,
      status: null,
      stage: null,
      ended: false,
      progress: { done: 0, total: 0 },
      usage: null,
      error: null,
      missing: null, // why the course cannot be shown (status "missing")
      review: null, // the outline a `review` event asked about
      reviewShown: false,
      course: { course_name: "", description: "", language: null, themes: [] },
      streams: new Map(), // "stage/theme/topic" -> text since the stream's last `start`
      writingDirty: new Set(),
      writingTimer: null,
    };
  }

  const streamKey = (stage, theme, topic) => `${stage}/${theme}/${topic}`;
  const topicOf = (i, j) => state.course.themes[i]?.topics?.[j];

  // ---------------------------------------------------------------- events
  const handlers = {
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
      stopFollowing();
      continueAfterEnd(state);
      // A cancelled or failed run leaves half-written streams: nothing writes them any more.
      const touched = [...state.streams.keys()].map((k) => k.split("/").slice(1).join("/"));
      state.streams.clear();
      for (const key of touched) {
        const [i, j] = key.split("/").map(Number);
        renderTopic(i, j);
      }
      renderStatus();
      loadRecent();
    },
  };

  // The quality report of a finished course: one row per line of its summary (null: hidden).
  function renderReport(report) {
    const rows = Object.entries(report?.summary || {}).map(([name, value]) =>
      el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value })),
    );
    $("report-rows").replaceChildren(...rows);
    $("report").hidden = rows.length === 0;
  }

  // The server closes the stream after a finished job's last event. A replay may meet the `end`
  // of an earlier run (the course was regenerated since): ask whether more is stored.
  async function continueAfterEnd(current) {
    const answer = await api("GET", `/courses/${encodeURIComponent(current.job)}`);
    if (state !== current || !current.ended || !answer.ok) return;
    if (answer.data.last_event_id > current.lastId || ACTIVE.has(answer.data.status)) {
      current.ended = false;
      follow();
    }
  }

  function closeStream(stage, d, kind) {
    const topic = topicOf(d.theme, d.topic);
    if (!topic) return;
    topic[kind] = d[kind];
    topic.error = null;
    state.streams.delete(streamKey(stage, d.theme, d.topic));
    renderTopic(d.theme, d.topic);
    if (kind === "content") renderGlossary();
  }

  function onEvent(event) {
    const current = state;
    if (!current) return;
    const id = Number(event.lastEventId);
    if (id && id <= current.lastId) return; // already applied (defensive: replays are exact)
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (id) current.lastId = id;
    const handler = handlers[event.type];
    if (handler) handler(data);
    if (!current.writingTimer) showRendered(current);
  }

  function follow() {
    stopFollowing();
    const url = `/courses/${encodeURIComponent(state.job)}/events?after=${state.lastId}`;
    if (apiKey()) {
      // EventSource cannot send an Authorization header: read the stream with fetch instead.
      source = followWithFetch(url);
      return;
    }
    source = new EventSource(url);
    for (const type of Object.keys(handlers)) source.addEventListener(type, onEvent);
    source.addEventListener("open", () => connection("open"));
    source.addEventListener("error", () => {
      if (!source || state.ended) return;
      connection("lost");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): find out why, then try again from where we are.
        stopFollowing();
        recover();
      }
    });
  }

  function connection(value) {
    $("status").dataset.connection = value;
    renderStatus();
  }

  async function recover() {
    const job = state.job;
    const answer = await api("GET", `/courses/${encodeURIComponent(job)}`);
    if (state.job !== job || source) return;
    if (answer.status === 401) return; // api() has asked for a key; saving one resumes
    if (answer.status === 404) {
      missing(answer);
      return;
    }
    retryTimer = setTimeout(follow, 3000);
  }

  // A tiny EventSource over fetch (for API keys): same events, same resume-after-id rule.
  function followWithFetch(url) {
    const abort = new AbortController();
    const current = state;
    const run = async () => {
      let delay = 500;
      while (!abort.signal.aborted && !current.ended) {
        try {
          const after = current.lastId;
          const response = await fetch(url.replace(/after=\d+/, `after=${after}`), {
            headers: authHeaders({ Accept: "text/event-stream", "Last-Event-ID": String(after) }),
            signal: abort.signal,
            cache: "no-store",
          });
          if (response.status === 401 || response.status === 404) {
            source = null;
            if (response.status === 401) needKey();
            else missing(response);
            return;
          }
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          connection("open");
          delay = 500;
          await readEvents(response.body, abort.signal);
        } catch (exc) {
          if (abort.signal.aborted) return;
        }
        if (current.ended || abort.signal.aborted) return;
        connection("lost");
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    };
    run();
    return { close: () => abort.abort() };
  }

  async function readEvents(body, signal) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let fields = { data: [] };
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r(?!$)|\n/);
      buffer = lines.pop(); // an unfinished line (or a lone "\r" that may be half of "\r\n")
      for (const line of lines) {
        if (line === "") {
          if (fields.data.length) {
            onEvent({
              type: fields.event || "message",
              data: fields.data.join("\n"),
              lastEventId: fields.id || "",
            });
          }
          fields = { data: [] };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (name === "data") fields.data.push(value);
          else fields[name] = value;
        }
      }
    }
  }

  function stopFollowing() {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    if (source) source.close();
    source = null;
  }

  // An unknown course (or one that cannot be read): a message, and nothing to follow or do.
  function missing(answer) {
    stopFollowing();
    state.status = "missing";
    state.missing = answer.status === 404 ? STATUS_TEXT.missing : answer.message || "Error";
    renderAll();
  }

  // ------------------------------------------------------------------ API key
  const KEY_STORAGE = "coursegen.apiKey";

  function apiKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return "";
    }
  }

  function authHeaders(headers = {}) {
    const key = apiKey();
    return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
  }

  function needKey() {
    const panel = $("key-panel");
    panel.open = true;
    $("key-state").textContent = apiKey()
      ? "The server refused this key: enter a valid one."
      : "This server needs an API key.";
    $("key-state").classList.add("error");
  }

  function saveKey(event) {
    event.preventDefault();
    const key = $("f-key").value.trim();
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage switched off: the key cannot be kept
    }
    $("f-key").value = "";
    $("key-state").classList.remove("error");
    $("key-state").textContent = key ? "Key saved for this tab." : "No key.";
    route();
  }

  function forgetKey() {
    try {
      sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // nothing kept
    }
    $("key-state").classList.remove("error");
    $("key-state").textContent = "Key forgotten.";
    route();
  }

  // With a key, a plain link cannot authenticate: download through fetch instead.
  async function download(event) {
    if (!apiKey()) return; // the link works as it is
    event.preventDefault();
    const link = event.currentTarget;
    const response = await fetch(link.href, { headers: authHeaders() });
    if (response.status === 401) {
      needKey();
      return;
    }
    if (!response.ok) {
      $("job-error").textContent = `Download failed: ${response.status}`;
      $("job-error").hidden = false;
      return;
    }
    const name = downloadName(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(await response.blob());
    const save = el("a", { href: url, download: name });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // RFC 6266: the UTF-8 `filename*` (the course name as written), else the ASCII `filename`.
  function downloadName(disposition) {
    const encoded = disposition.match(/filename\*=UTF-8''([^;\s]+)/i)?.[1];
    if (encoded) {
      try {
        return decodeURIComponent(encoded);
      } catch {
        // malformed: use the plain name
      }
    }
    return disposition.match(/filename="([^"]+)"/)?.[1] || "course";
  }

  // ---------------------------------------------------------------- rendering
  function renderAll() {
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

  function setLanguage(node) {
    const lang = state.course.language;
    if (lang) {
      node.setAttribute("lang", lang);
      node.setAttribute("dir", RTL.has(lang) ? "rtl" : "ltr");
    } else {
      node.removeAttribute("lang");
      node.removeAttribute("dir");
    }
  }

  function renderStatus() {
    const status = state.status || "loading";
    const view = $("view");
    view.dataset.status = status;
    const line = $("status");
    line.dataset.status = status;
    let text = status === "missing" ? state.missing : STATUS_TEXT[status] || status;
    if (status === "running" && state.stage) text = `Writing the course: ${STAGE_TEXT[state.stage] || state.stage}…`;
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
      if (!state.reviewShown) showReview(state.review);
    } else {
      $("review").hidden = true;
      state.reviewShown = false;
    }
    renderProgress();
  }

  function renderProgress() {
    const { done = 0, total = 0 } = state.progress || {};
    const bar = $("progress");
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
    bar.setAttribute("aria-valuetext", `${done} of ${total}`);
    const parts = [`${done} of ${total} model calls`];
    if (state.stage && ACTIVE.has(state.status)) {
      parts.push(`stage: ${STAGE_TEXT[state.stage] || state.stage}`);
    }
    if (state.usage) parts.push(`${Number(state.usage.total_tokens || 0).toLocaleString()} tokens`);
    $("progress-text").textContent = parts.join(" · ");
  }

  function regenControl(label, theme, topic) {
    const instructions = el("input", {
      type: "text",
      maxlength: "2000",
      placeholder: "e.g. simpler, more examples",
      className: "regen-instructions",
    });
    const id = `regen-${theme}-${topic ?? "all"}`;
    instructions.id = id;
    const error = el("span", { className: "error", role: "alert", hidden: true });
    const button = el("button", { type: "submit", className: "secondary", text: label });
    const form = el(
      "form",
      {
        className: "regen-form",
        on: {
          submit: (event) => {
            event.preventDefault();
            regenerate(theme, topic, instructions.value, button, error);
          },
        },
      },
      el("label", { for: id, text: "Instructions (optional)" }),
      instructions,
      button,
      error,
    );
    return el("details", { className: "regen" }, el("summary", { text: `${label}…` }), form);
  }

  function renderThemes() {
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
  function renderGlossary() {
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

  function renderCoverage(uncovered) {
    const node = $("coverage");
    node.textContent = uncovered.length
      ? `Requirements no topic covers: ${uncovered.join("; ")}`
      : "Every requirement item is covered by a planned topic.";
    node.hidden = false;
  }

  // Downloads once the run is over: during review or writing the course is not there yet.
  function exportsVisibility() {
    $("exports").hidden = !(FINISHED.has(state.status) && state.course.themes.length);
  }

  function renderThemeError(i) {
    const node = themeNode(i)?.querySelector(".theme-error");
    const error = state.course.themes[i]?.error;
    if (!node) return;
    node.hidden = !error;
    node.textContent = error ? `The topics of this theme could not be written: ${error}` : "";
  }

  function themeNode(i) {
    return $("themes").querySelector(`li.theme[data-theme="${i}"]`);
  }

  function renderTopics(i) {
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

  function renderTopic(i, j) {
    const node = topicNode(i, j);
    const topic = topicOf(i, j);
    if (!node || !topic) return;
    const material = node.querySelector(".material");
    material.replaceChildren(renderMaterial(topic));
    const error = node.querySelector(".topic-error");
    error.hidden = !topic.error;
    error.textContent = topic.error ? `This topic could not be written: ${topic.error}` : "";
    renderWriting(i, j);
  }

  function renderWriting(i, j) {
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

  // The id of the last event whose effect is on screen (for a reload check, or a test).
  function showRendered(current) {
    if (state === current) $("view").dataset.lastEventId = String(current.lastId);
  }

  function renderMaterial(topic) {
    const out = document.createDocumentFragment();
    const polished = topic.polished;
    const content = topic.content;
    if (!polished && !content) return out;
    const badge = polished ? "polished" : "draft";
    out.append(el("p", { className: `badge ${badge}`, text: badge }));
    if (polished?.summary) {
      out.append(el("div", { className: "summary" }, markdown(polished.summary, 5)));
    }
    out.append(el("div", { className: "body" }, markdown((polished || content).body_markdown)));
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
    return out;
  }

  // ------------------------------------------------------------------- review
  function reviewItem(theme) {
    const n = $("review-themes").children.length + reviewItem.counter++;
    const title = el("input", { id: `rv-title-${n}`, className: "rv-title", required: true });
    title.value = theme.title || "";
    const description = el("textarea", {
      id: `rv-desc-${n}`,
      className: "rv-desc",
      rows: "2",
      required: true,
    });
    description.value = theme.description || "";
    const item = el(
      "li",
      { className: "review-theme" },
      el("label", { for: title.id, text: "Title" }),
      title,
      el("label", { for: description.id, text: "Description" }),
      description,
      el("button", {
        type: "button",
        className: "link danger rv-remove",
        text: "Remove this theme",
        on: {
          click: () => {
            item.remove();
            syncRemoveButtons();
          },
        },
      }),
    );
    setLanguage(item);
    return item;
  }
  reviewItem.counter = 0;

  function syncRemoveButtons() {
    const items = $("review-themes").children;
    for (const item of items) item.querySelector(".rv-remove").disabled = items.length < 2;
  }

  function showReview(outline) {
    state.reviewShown = true;
    $("review-themes").replaceChildren(...outline.themes.map(reviewItem));
    syncRemoveButtons();
    $("review-error").hidden = true;
    $("review-approve").disabled = false;
    $("review").hidden = false;
  }

  async function approveReview(event) {
    event.preventDefault();
    const themes = [...$("review-themes").children].map((item) => ({
      title: item.querySelector(".rv-title").value.trim(),
      description: item.querySelector(".rv-desc").value.trim(),
    }));
    const error = $("review-error");
    if (!themes.length || themes.some((t) => !t.title || !t.description)) {
      error.textContent = "Every theme needs a title and a description.";
      error.hidden = false;
      return;
    }
    const original = (state.review?.themes || []).map((t) => ({
      title: t.title,
      description: t.description,
    }));
    const body = { approve: true };
    if (JSON.stringify(original) !== JSON.stringify(themes)) body.outline = { themes };
    $("review-approve").disabled = true;
    const job = state.job;
    const answer = await api("POST", `/courses/${encodeURIComponent(job)}/review`, body);
    if (state.job !== job) return;
    if (!answer.ok) {
      error.textContent = answer.message;
      error.hidden = false;
      $("review-approve").disabled = false;
      return;
    }
    $("review").hidden = true;
    state.status = answer.data.status;
    renderStatus();
    if (!source) follow();
  }

  // ------------------------------------------------------------------ actions
  async function api(method, url, body, headers = {}) {
    try {
      const response = await fetch(url, {
        method,
        headers: authHeaders(body ? { "Content-Type": "application/json", ...headers } : headers),
        body: body ? JSON.stringify(body) : undefined,
      });
      const data = response.status === 204 ? null : await response.json().catch(() => null);
      if (response.ok) return { ok: true, status: response.status, data };
      if (response.status === 401) needKey();
      return { ok: false, status: response.status, message: errorMessage(response, data) };
    } catch (exc) {
      return { ok: false, status: 0, message: `The server cannot be reached (${exc.message}).` };
    }
  }

  function errorMessage(response, data) {
    const detail = data?.detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`)
        .join("; ");
    }
    if (typeof detail === "string") return detail;
    return `${response.status} ${response.statusText}`;
  }

  async function regenerate(theme, topic, instructions, button, error) {
    button.disabled = true;
    error.hidden = true;
    const body = { theme, instructions: instructions.trim() };
    if (topic !== null) body.topic = topic;
    const job = state.job;
    const answer = await api("POST", `/courses/${encodeURIComponent(job)}/regenerate`, body);
    button.disabled = false;
    if (state.job !== job) return;
    if (!answer.ok) {
      error.textContent = answer.message;
      error.hidden = false;
      return;
    }
    button.closest("details").open = false;
    state.status = answer.data.status;
    state.ended = false;
    state.error = null;
    renderStatus();
    follow(); // the first run's stream closed at its `end`: continue after the last event
  }

  async function cancelJob() {
    const button = $("cancel");
    button.disabled = true;
    const answer = await api("POST", `/courses/${encodeURIComponent(state.job)}/cancel`);
    if (!answer.ok) {
      button.disabled = false;
      $("job-error").textContent = answer.message;
      $("job-error").hidden = false;
    }
  }

  function newKey() {
    if (window.crypto?.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  // Upload each file (multipart, field `file`) to POST /sources; the ids go in the request.
  async function uploadSources(files) {
    const ids = [];
    for (const file of files) {
      const data = new FormData();
      data.append("file", file);
      try {
        const response = await fetch("/sources", {
          method: "POST",
          headers: authHeaders(),
          body: data,
        });
        const answer = await response.json().catch(() => null);
        if (response.status === 401) needKey();
        if (!response.ok) {
          return { ok: false, message: `${file.name}: ${errorMessage(response, answer)}` };
        }
        ids.push(answer.id);
      } catch (exc) {
        return { ok: false, message: `The server cannot be reached (${exc.message}).` };
      }
    }
    return { ok: true, ids };
  }

  async function createCourse(event) {
    event.preventDefault();
    const form = event.target;
    const error = $("form-error");
    error.hidden = true;
    const value = (name) => form.elements[name].value.trim();
    const body = {
      course_name: value("course_name"),
      description: value("description"),
      requirements: value("requirements"),
      language: value("language") || null,
      options: { review_outline: form.elements.review_outline.checked },
    };
    for (const name of ["themes", "topics_per_theme"]) {
      if (value(name)) body.options[name] = Number(value(name));
    }
    if (!body.course_name) {
      error.textContent = "Give the course a name.";
      error.hidden = false;
      form.elements.course_name.focus();
      return;
    }
    const button = $("create");
    button.disabled = true;
    const files = [...form.elements.sources.files];
    if (files.length) {
      const uploaded = await uploadSources(files);
      if (!uploaded.ok) {
        button.disabled = false;
        error.textContent = uploaded.message;
        error.hidden = false;
        return;
      }
      body.sources = uploaded.ids;
      body.options.grounding = form.elements.strict.checked ? "strict" : "prefer";
    }
    const answer = await api("POST", "/courses", body, { "Idempotency-Key": newKey() });
    button.disabled = false;
    if (!answer.ok) {
      error.textContent = answer.message;
      error.hidden = false;
      return;
    }
    history.pushState(null, "", `/?job=${encodeURIComponent(answer.data.id)}`);
    showJob(answer.data.id, body);
    loadRecent();
  }

  // ------------------------------------------------------------- recent courses
  async function loadRecent() {
    const answer = await api("GET", "/courses?limit=20");
    const list = $("recent");
    if (!answer.ok) return;
    const items = answer.data.items || [];
    $("recent-empty").hidden = items.length > 0;
    list.replaceChildren(
      ...items.map((job) => {
        // A job stored before jobs kept their name from creation on has no course yet.
        const name = job.course?.course_name || `Course ${job.id.slice(0, 8)}`;
        const when = new Date(job.created_at * 1000).toLocaleString();
        const link = el("a", { href: `/?job=${encodeURIComponent(job.id)}`, text: name });
        if (state && job.id === state.job) link.setAttribute("aria-current", "page");
        return el(
          "li",
          { dataset: { job: job.id } },
          link,
          el("span", { className: `pill ${job.status}`, text: job.status.replace("_", " ") }),
          el("small", { className: "muted", text: when }),
        );
      }),
    );
  }

  // ---------------------------------------------------------------------- model
  // The model the server writes with: `model` of GET /healthz, when the server names it.
  async function showModel() {
    let data = null;
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      data = response.ok ? await response.json() : null;
    } catch {
      return; // no line: the server is checked again by every other request
    }
    const model = data?.model;
    const name =
      typeof model === "string"
        ? model
        : [model?.provider, model?.name || model?.model].filter((p) => typeof p === "string").join(":");
    $("model").textContent = name ? `Model: ${name}` : "";
    $("model").hidden = !name;
  }

  // -------------------------------------------------------------------- routing
  function jobFromUrl() {
    const query = new URLSearchParams(location.search).get("job");
    if (query) return query;
    const hash = location.hash.slice(1);
    return /^[\w-]{6,}$/.test(hash) ? hash : null;
  }

  async function showJob(jobId, request) {
    stopFollowing();
    state = freshState(jobId);
    renderReport(null);
    $("intro").hidden = true;
    $("view").hidden = false;
    $("status").dataset.connection = "";
    $("view").dataset.lastEventId = "0";
    if (request) {
      state.course.course_name = request.course_name;
      state.course.description = request.description;
      state.course.language = request.language;
      state.status = "queued";
    }
    renderAll();
    if (!request) {
      const answer = await api("GET", `/courses/${encodeURIComponent(jobId)}`);
      if (state.job !== jobId) return;
      if (!answer.ok) {
        missing(answer);
        return;
      }
      state.status = answer.data.status;
      const course = answer.data.course || {};
      state.course.course_name = course.course_name || "";
      state.course.description = course.description || "";
      state.course.language = course.language || null;
      renderAll();
    }
    follow();
  }

  function showIntro() {
    stopFollowing();
    state = null;
    $("intro").hidden = false;
    $("view").hidden = true;
    document.title = "coursegen";
  }

  function route() {
    const job = jobFromUrl();
    if (job) showJob(job);
    else showIntro();
    loadRecent();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("new-course").addEventListener("submit", createCourse);
    $("review-form").addEventListener("submit", approveReview);
    $("review-add").addEventListener("click", () => {
      $("review-themes").append(reviewItem({ title: "", description: "" }));
      syncRemoveButtons();
      $("review-themes").lastChild.querySelector("input").focus();
    });
    $("cancel").addEventListener("click", cancelJob);
    $("recent-refresh").addEventListener("click", loadRecent);
    $("key-form").addEventListener("submit", saveKey);
    $("key-forget").addEventListener("click", forgetKey);
    for (const link of $("exports").querySelectorAll("a")) link.addEventListener("click", download);
    if (apiKey()) $("key-state").textContent = "A key is set for this tab.";
    showModel();
    window.addEventListener("popstate", route);
    window.addEventListener("hashchange", route);
    route();
  });
})();
