// coursegen web page: create a course, follow its event log live, review, regenerate, export.
// Every piece of model or user text goes into the page as a text node (textContent or
// createTextNode); no HTML string is ever parsed into the page.
import { approveReview, cancelJob, createCourse, regenerate } from "./actions.js";
import { apiKey, download, storeKey } from "./api.js";
import { $ } from "./dom.js";
import { loadInfo, modelLine } from "./info.js";
import { showIntro, showJob } from "./job.js";
import { loadRecent } from "./recent.js";
import { renderStatus } from "./render.js";
import { addReviewTheme } from "./review.js";
import { state } from "./state.js";

function jobFromUrl() {
  const query = new URLSearchParams(location.search).get("job");
  if (query) return query;
  const hash = location.hash.slice(1);
  return /^[\w-]{6,}$/.test(hash) ? hash : null;
}

function route() {
  const job = jobFromUrl();
  if (job) showJob(job);
  else showIntro();
  loadRecent();
  // The stages in words and the model: the page names them once the server has said.
  loadInfo().then((info) => {
    if (!info) return;
    showModel(info.model);
    if (state) renderStatus();
  });
}

// The model the server writes with, in the header.
function showModel(model) {
  const line = modelLine(model);
  $("model").textContent = line ? `Model: ${line}` : "";
  $("model").hidden = !line;
}

function saveKey(event) {
  event.preventDefault();
  const key = $("f-key").value.trim();
  storeKey(key);
  $("f-key").value = "";
  $("key-state").classList.remove("error");
  $("key-state").textContent = key ? "Key saved for this tab." : "No key.";
  route();
}

function forgetKey() {
  storeKey("");
  $("key-state").classList.remove("error");
  $("key-state").textContent = "Key forgotten.";
  route();
}

// A module script runs after the document is parsed (it is deferred): the page is there.
$("new-course").addEventListener("submit", createCourse);
$("review-form").addEventListener("submit", approveReview);
$("review-add").addEventListener("click", addReviewTheme);
$("themes").addEventListener("submit", regenerate);
$("cancel").addEventListener("click", cancelJob);
$("recent-refresh").addEventListener("click", loadRecent);
$("key-form").addEventListener("submit", saveKey);
$("key-forget").addEventListener("click", forgetKey);
for (const link of $("exports").querySelectorAll("a")) link.addEventListener("click", download);
if (apiKey()) $("key-state").textContent = "A key is set for this tab.";
window.addEventListener("popstate", route);
window.addEventListener("hashchange", route);
route();
