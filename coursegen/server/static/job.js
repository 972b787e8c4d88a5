// Show one job: load it, follow its event log from the last applied id, recover, stop.
import { api, jobUrl, needKey } from "./api.js";
import { $ } from "./dom.js";
import { handlers } from "./events.js";
import { loadRecent } from "./recent.js";
import {
  STATUS_TEXT,
  renderAll,
  renderAllTopics,
  renderReport,
  renderStatus,
  showRendered,
} from "./render.js";
import { subscribe } from "./sse.js";
import { ACTIVE, clearJob, keepCitations, startJob, state } from "./state.js";

let source = null;
let retryTimer = null;

export const following = () => source !== null;

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
  if (event.type === "end") {
    stopFollowing();
    continueAfterEnd(current);
    loadRecent();
  }
  if (!current.writingTimer) showRendered(current);
}

// The server closes the stream after a finished job's last event. A replay may meet the `end`
// of an earlier run (the course was regenerated since): ask whether more is stored. The answer
// also holds the finished course's checked citations (titles and pages of the references).
async function continueAfterEnd(current) {
  const answer = await api("GET", jobUrl(current.job));
  if (state !== current || !current.ended || !answer.ok) return;
  keepCitations(current, answer.data.course);
  renderAllTopics();
  if (answer.data.last_event_id > current.lastId || ACTIVE.has(answer.data.status)) {
    current.ended = false;
    follow();
  }
}

export function follow() {
  stopFollowing();
  const current = state;
  const url = jobUrl(current.job, `/events?after=${current.lastId}`);
  source = subscribe(url, Object.keys(handlers), {
    event: onEvent,
    open: () => connection("open"),
    lost: () => connection("lost"),
    lastId: () => current.lastId,
    ended: () => current.ended,
    gaveUp: () => {
      // The browser gave up (an HTTP error): find out why, then try again from where we are.
      stopFollowing();
      recover();
    },
    refused: (response) => {
      source = null;
      if (response.status === 401) needKey();
      else missing(response);
    },
  });
}

function connection(value) {
  $("status").dataset.connection = value;
  renderStatus();
}

async function recover() {
  const job = state.job;
  const answer = await api("GET", jobUrl(job));
  if (state?.job !== job || source) return;
  if (answer.status === 401) return; // api() has asked for a key; saving one resumes
  if (answer.status === 404) {
    missing(answer);
    return;
  }
  retryTimer = setTimeout(follow, 3000);
}

export function stopFollowing() {
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

// Show a job: the one just created (`request` is what was sent) or one named by the address.
export async function showJob(jobId, request) {
  stopFollowing();
  const current = startJob(jobId);
  renderReport(null);
  $("intro").hidden = true;
  $("view").hidden = false;
  $("status").dataset.connection = "";
  $("view").dataset.lastEventId = "0";
  if (request) {
    current.course.course_name = request.course_name;
    current.course.description = request.description;
    current.course.language = request.language;
    current.status = "queued";
  }
  renderAll();
  if (!request) {
    const answer = await api("GET", jobUrl(jobId));
    if (state !== current) return;
    if (!answer.ok) {
      missing(answer);
      return;
    }
    current.status = answer.data.status;
    const course = answer.data.course || {};
    current.course.course_name = course.course_name || "";
    current.course.description = course.description || "";
    current.course.language = course.language || null;
    keepCitations(current, course);
    renderAll();
  }
  follow();
}

export function showIntro() {
  stopFollowing();
  clearJob();
  $("intro").hidden = false;
  $("view").hidden = true;
  document.title = "coursegen";
}
