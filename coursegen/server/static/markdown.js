// Markdown (a safe subset) to DOM: headings, paragraphs, lists, quotes, code, emphasis, [n].
// Anything else (raw HTML, links, images) stays visible as plain text.
import { el } from "./dom.js";

// Code spans, **bold**, __bold__, *italic*, _italic_, and a citation marker `[n]` placed as
// coursegen/sources/citations.py places it (not `items[2]`, `[2](link)` nor `[2]: url`).
const INLINE =
  /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=[^\s*])([^*]*?[^\s*]|[^\s*])\*|(?<![\p{L}\p{N}])_(?=[^\s_])([^_]*?[^\s_]|[^\s_])_(?![\p{L}\p{N}])|(?<![\p{L}\p{N}_[\]])\[(\d{1,3})\](?![(:[])/gu;

// A marker links to its reference, when `cite` ({anchor, count}) says the topic has one.
function marker(match, cite) {
  const n = Number(match[7]);
  if (!cite || n < 1 || n > cite.count) return match[0];
  const id = `${cite.anchor}-${n}`;
  return el("a", {
    href: `#${id}`,
    className: "cite",
    text: `[${n}]`,
    "aria-label": `reference ${n}`,
    on: {
      click: (event) => {
        // Not a navigation: the page's address names the course, and a hash would replace it.
        event.preventDefault();
        const target = document.getElementById(id);
        target?.scrollIntoView({ block: "nearest" });
        target?.focus();
      },
    },
  });
}

export function inline(text, cite = null) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const match of String(text).matchAll(INLINE)) {
    if (match.index > at) out.append(text.slice(at, match.index));
    if (match[1]) out.append(el("code", { text: match[2].trim() || match[2] }));
    else if (match[3] || match[4]) out.append(el("strong", {}, inline(match[3] || match[4], cite)));
    else if (match[7]) out.append(marker(match, cite));
    else out.append(el("em", {}, inline(match[5] || match[6], cite)));
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

export function markdown(source, headingBase = 4, cite = null) {
  const out = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  // Nested, not demoted by a fixed amount: a lesson's `##` under an h4 topic is an h5.
  const shift = headingBase + 1 - topHeading(lines);
  const text = (value) => inline(value, cite);
  let paragraph = [];
  let list = null;
  let quote = null;
  const endParagraph = () => {
    if (paragraph.length) out.append(el("p", {}, text(paragraph.join(" "))));
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
      out.append(el(`h${level}`, { className: "md-heading" }, text(heading[2])));
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
      list.node.append(el("li", {}, text(item[2])));
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
      quote.append(el("p", {}, text(quoted[1])));
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) {
      list.node.lastChild.append(" ", text(line.trim()));
      continue;
    }
    list = null;
    quote = null;
    paragraph.push(line.trim());
  }
  endBlocks();
  return out;
}
