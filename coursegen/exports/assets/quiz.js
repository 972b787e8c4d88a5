/* coursegen self-check quiz: the learner opens an answer, then marks it right or wrong. */
(function () {
  "use strict";
  var questions = Array.prototype.slice.call(document.querySelectorAll(".question"));
  var board = document.querySelector(".score");
  var listeners = [];

  function marks() {
    return questions.map(function (q) { return q.getAttribute("data-mark") || ""; });
  }

  function result() {
    var all = marks();
    var right = all.filter(function (m) { return m === "1"; }).length;
    var marked = all.filter(function (m) { return m !== ""; }).length;
    return { right: right, marked: marked, total: all.length, marks: all };
  }

  function show() {
    var r = result();
    if (board && r.total) {
      board.hidden = false;
      board.textContent = board.getAttribute("data-template")
        .replace("{right}", String(r.right)).replace("{total}", String(r.total));
    }
    return r;
  }

  function mark(question, value) {
    question.setAttribute("data-mark", value);
    var details = question.querySelector("details");
    var box = question.querySelector(".marks");
    if (details) { details.open = true; }
    if (box) {
      box.hidden = false;
      Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
        b.setAttribute("aria-pressed", String(b.value === value));
      });
    }
  }

  function changed() {
    var r = show();
    listeners.forEach(function (listener) { listener(r); });
  }

  questions.forEach(function (question) {
    var details = question.querySelector("details");
    var box = question.querySelector(".marks");
    if (!details || !box) { return; }
    details.addEventListener("toggle", function () { if (details.open) { box.hidden = false; } });
    Array.prototype.forEach.call(box.querySelectorAll("button"), function (button) {
      button.addEventListener("click", function () { mark(question, button.value); changed(); });
    });
  });

  window.coursegenQuiz = {
    result: result,
    onChange: function (listener) { listeners.push(listener); },
    restore: function (saved) {
      saved.forEach(function (value, i) {
        if (questions[i] && (value === "1" || value === "0")) { mark(questions[i], value); }
      });
      show();
    }
  };
  show();
})();
