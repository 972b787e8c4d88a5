/* coursegen SCORM 1.2 runtime: find the LMS API, report the self-check score and status. */
(function () {
  "use strict";
  var quiz = window.coursegenQuiz;
  if (!quiz) { return; }
  var started = new Date().getTime();
  var finished = false;

  function findApi(win) {
    for (var depth = 0; win && depth < 500; depth += 1) {
      try {
        if (win.API) { return win.API; }
        if (!win.parent || win.parent === win) { return null; }
        win = win.parent;
      } catch (e) {
        return null; /* a frame from another origin: the LMS is not above it */
      }
    }
    return null;
  }

  var API = findApi(window) || (window.opener ? findApi(window.opener) : null);

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function sessionTime() {
    var s = Math.floor((new Date().getTime() - started) / 1000);
    var h = Math.floor(s / 3600);
    return (h < 1000 ? ("000" + h).slice(-4) : String(h)) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
  }

  function wasCompleted() {
    var status = String(API.LMSGetValue("cmi.core.lesson_status"));
    return status === "completed" || status === "passed";
  }

  function report(r) {
    if (finished) { return; } /* SCORM 1.2 allows no calls after LMSFinish */
    var done = r.marked === r.total;
    API.LMSSetValue("cmi.core.score.min", "0");
    API.LMSSetValue("cmi.core.score.max", "100");
    API.LMSSetValue("cmi.core.score.raw", String(Math.round((100 * r.right) / r.total)));
    if (!wasCompleted()) { /* a completed or passed status is never taken back */
      API.LMSSetValue("cmi.core.lesson_status", done ? "completed" : "incomplete");
    }
    API.LMSSetValue("cmi.suspend_data", r.marks.join(","));
    API.LMSCommit("");
  }

  function finish() {
    if (finished) { return; }
    finished = true;
    var r = quiz.result();
    API.LMSSetValue("cmi.core.session_time", sessionTime());
    API.LMSSetValue("cmi.core.exit", r.marked === r.total ? "" : "suspend");
    API.LMSCommit("");
    API.LMSFinish("");
  }

  function start() {
    if (String(API.LMSInitialize("")) !== "true") { return false; }
    var saved = String(API.LMSGetValue("cmi.suspend_data") || "");
    if (saved) { quiz.restore(saved.split(",")); }
    var r = quiz.result();
    if (r.marked > 0) {
      report(r);
    } else if (r.total === 0 || !wasCompleted()) {
      API.LMSSetValue("cmi.core.lesson_status", r.total === 0 ? "completed" : "incomplete");
      API.LMSCommit("");
    }
    quiz.onChange(report);
    window.addEventListener("pagehide", finish);
    window.addEventListener("beforeunload", finish);
    return true;
  }

  if (!API || !start()) {
    var note = document.querySelector(".lms-note");
    if (note) { note.hidden = false; }
  }
})();
