// Run quiz.js and scorm.js against a minimal fake DOM and a recording SCORM 1.2 API.
// argv: quiz.js path, scorm.js path, JSON plan (see test_quiz_runtime.py); prints the API log.
"use strict";
const fs = require("fs");
const vm = require("vm");
const [quizPath, scormPath, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson);

class Node {
  constructor(attrs = {}) { this.attrs = attrs; this.listeners = {}; this.hidden = true; this.open = false; this.parts = {}; }
  getAttribute(name) { return name in this.attrs ? this.attrs[name] : null; }
  setAttribute(name, value) { this.attrs[name] = String(value); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  fire(type) { (this.listeners[type] || []).forEach((fn) => fn()); }
  querySelector(sel) { return this.parts[sel] || null; }
  querySelectorAll(sel) { return this.parts[sel] || []; }
}

function question() {
  const q = new Node();
  const right = new Node(); right.value = "1";
  const wrong = new Node(); wrong.value = "0";
  const box = new Node(); box.parts.button = [right, wrong];
  q.parts.details = new Node(); q.parts[".marks"] = box;
  return q;
}

const questions = Array.from({ length: plan.questions }, question);
const board = new Node({ "data-template": "Right: {right} of {total}" });
const note = new Node();
const log = [];
const store = {
  "cmi.core.lesson_status": plan.status || "not attempted",
  "cmi.suspend_data": plan.suspend || "",
};
const API = {
  LMSInitialize: (a) => { log.push(["LMSInitialize", a]); return "true"; },
  LMSGetValue: (k) => store[k] || "",
  LMSSetValue: (k, v) => { log.push(["LMSSetValue", k, v]); store[k] = v; return "true"; },
  LMSCommit: (a) => { log.push(["LMSCommit", a]); return "true"; },
  LMSFinish: (a) => { log.push(["LMSFinish", a]); return "true"; },
};
const lms = plan.withApi ? { API } : {};
lms.parent = lms;
const window = new Node();
window.parent = lms;
const document = {
  querySelectorAll: (sel) => (sel === ".question" ? questions : []),
  querySelector: (sel) => ({ ".score": board, ".lms-note": note })[sel] || null,
};
const context = vm.createContext({ window, document });
vm.runInContext(fs.readFileSync(quizPath, "utf8"), context);
if (plan.scorm) { vm.runInContext(fs.readFileSync(scormPath, "utf8"), context); }

for (const [action, index, value] of plan.actions) {
  const q = questions[index];
  if (action === "open") { q.parts.details.open = true; q.parts.details.fire("toggle"); }
  if (action === "mark") { q.parts[".marks"].parts.button.find((b) => b.value === value).fire("click"); }
  if (action === "leave") { window.fire("pagehide"); window.fire("beforeunload"); }
}
const state = questions.map((q) => ({ mark: q.getAttribute("data-mark"), open: q.parts.details.open, marksHidden: q.parts[".marks"].hidden }));
console.log(JSON.stringify({ log, board: board.hidden ? null : board.textContent, noteHidden: note.hidden, state }));
