// coursegen web page: create a course, follow its event log live, review, regenerate, export.
// Every piece of model or user text goes into the page as a text node (textContent or
// createTextNode); no HTML string is ever parsed into the page.
import { approveReview, cancelJob, createCourse, regenerate } from "./actions.js";
import { apiKey, download, storeKey } from "./api.js";
import { $ } from "./dom.js";
import { showIntro, showJob } from "./job.js";
import { loadRecent } from "./recent.js";
import { renderStatus } from "./render.js";
import { addReviewTheme } from "./review.js";
import { loadStages } from "./stages.js";
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
  // The stages in words: the status line names them once the server has said.
  loadStages().then((loaded) => {
    if (loaded && state) renderStatus();
  });
}

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
      : [model?.provider, model?.name || model?.model]
          .filter((p) => typeof p === "string")
          .join(":");
  $("model").textContent = name ? `Model: ${name}` : "";
  $("model").hidden = !name;
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
showModel();
window.addEventListener("popstate", route);
window.addEventListener("hashchange", route);
route();
