// What the user asks of the API: a new course, an approved outline, a regeneration, a cancel.
import { api, jobUrl, uploadSources } from "./api.js";
import { $ } from "./dom.js";
import { follow, following, showJob } from "./job.js";
import { loadRecent } from "./recent.js";
import { renderStatus } from "./render.js";
import { reviewAnswer, reviewError } from "./review.js";
import { state } from "./state.js";

function newKey() {
  if (window.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export async function createCourse(event) {
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

export async function approveReview(event) {
  event.preventDefault();
  const body = reviewAnswer(state.review);
  if (!body) return;
  $("review-approve").disabled = true;
  const job = state.job;
  const answer = await api("POST", jobUrl(job, "/review"), body);
  if (state?.job !== job) return;
  if (!answer.ok) {
    reviewError(answer.message);
    $("review-approve").disabled = false;
    return;
  }
  $("review").hidden = true;
  state.status = answer.data.status;
  renderStatus();
  if (!following()) follow();
}

// A regenerate form of a theme or topic was sent (forms are drawn by render.js).
export async function regenerate(event) {
  const form = event.target.closest("form.regen-form");
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const error = form.querySelector(".error");
  button.disabled = true;
  error.hidden = true;
  const body = {
    theme: Number(form.dataset.theme),
    instructions: form.querySelector(".regen-instructions").value.trim(),
  };
  if (form.dataset.topic !== "") body.topic = Number(form.dataset.topic);
  const job = state.job;
  const answer = await api("POST", jobUrl(job, "/regenerate"), body);
  button.disabled = false;
  if (state?.job !== job) return;
  if (!answer.ok) {
    error.textContent = answer.message;
    error.hidden = false;
    return;
  }
  form.closest("details").open = false;
  state.status = answer.data.status;
  state.ended = false;
  state.error = null;
  renderStatus();
  follow(); // the first run's stream closed at its `end`: continue after the last event
}

export async function cancelJob() {
  const button = $("cancel");
  button.disabled = true;
  const answer = await api("POST", jobUrl(state.job, "/cancel"));
  if (!answer.ok) {
    button.disabled = false;
    $("job-error").textContent = answer.message;
    $("job-error").hidden = false;
  }
}
