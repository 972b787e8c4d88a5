// Mark course text with the course's language (and direction) for screen readers and fonts.
import { state } from "./state.js";

const RTL = new Set(["ar", "fa", "he", "ur", "yi"]);

export function setLanguage(node) {
  const lang = state.course.language;
  if (lang) {
    node.setAttribute("lang", lang);
    node.setAttribute("dir", RTL.has(lang) ? "rtl" : "ltr");
  } else {
    node.removeAttribute("lang");
    node.removeAttribute("dir");
  }
}
