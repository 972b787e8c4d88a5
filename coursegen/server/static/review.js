// The outline review form: edit, remove and add themes, then send the reviewed outline.
import { $, el } from "./dom.js";
import { setLanguage } from "./language.js";

let counter = 0;

function reviewItem(theme) {
  const n = $("review-themes").children.length + counter++;
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

function syncRemoveButtons() {
  const items = $("review-themes").children;
  for (const item of items) item.querySelector(".rv-remove").disabled = items.length < 2;
}

export function showReview(outline) {
  $("review-themes").replaceChildren(...outline.themes.map(reviewItem));
  syncRemoveButtons();
  reviewError("");
  $("review-approve").disabled = false;
  $("review").hidden = false;
}

export function addReviewTheme() {
  $("review-themes").append(reviewItem({ title: "", description: "" }));
  syncRemoveButtons();
  $("review-themes").lastChild.querySelector("input").focus();
}

export function reviewError(message) {
  $("review-error").textContent = message;
  $("review-error").hidden = !message;
}

// The body for POST /courses/{id}/review (the outline only when edited), or null if invalid.
export function reviewAnswer(asked) {
  const themes = [...$("review-themes").children].map((item) => ({
    title: item.querySelector(".rv-title").value.trim(),
    description: item.querySelector(".rv-desc").value.trim(),
  }));
  if (!themes.length || themes.some((t) => !t.title || !t.description)) {
    reviewError("Every theme needs a title and a description.");
    return null;
  }
  const original = (asked?.themes || []).map((t) => ({
    title: t.title,
    description: t.description,
  }));
  const body = { approve: true };
  if (JSON.stringify(original) !== JSON.stringify(themes)) body.outline = { themes };
  return body;
}
