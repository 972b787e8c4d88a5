// The caller's latest courses, by name and status, in the side panel.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { state } from "./state.js";

export async function loadRecent() {
  const answer = await api("GET", "/courses?limit=20");
  const list = $("recent");
  if (!answer.ok) return;
  const items = answer.data.items || [];
  $("recent-empty").hidden = items.length > 0;
  list.replaceChildren(
    ...items.map((job) => {
      // A job stored before jobs kept their name from creation on has no course yet.
      const name = job.course?.course_name || `Course ${job.id.slice(0, 8)}`;
      const when = new Date(job.created_at * 1000).toLocaleString();
      const link = el("a", { href: `/?job=${encodeURIComponent(job.id)}`, text: name });
      if (state && job.id === state.job) link.setAttribute("aria-current", "page");
      return el(
        "li",
        { dataset: { job: job.id } },
        link,
        el("span", { className: `pill ${job.status}`, text: job.status.replace("_", " ") }),
        el("small", { className: "muted", text: when }),
      );
    }),
  );
}
