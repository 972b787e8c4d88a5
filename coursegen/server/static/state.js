// The course on screen: one state object per shown job, rebuilt from its event log.

export const ACTIVE = new Set(["queued", "running", "awaiting_review"]);
export const FINISHED = new Set(["completed", "failed", "cancelled"]);

// The shown job's state (null on the intro page); a live binding for every importer.
export let state = null;

export function startJob(jobId) {
  state = {
    job: jobId,
    lastId: 0,
    status: null,
    stage: null,
    ended: false,
    progress: { done: 0, total: 0 },
    usage: null,
    error: null,
    missing: null, // why the course cannot be shown (status "missing")
    review: null, // the outline a `review` event asked about
    reviewShown: false,
    course: { course_name: "", description: "", language: null, themes: [] },
    // "theme/topic" -> the checked citations ({source_id, title, page, chunk, quote}) of the
    // course as GET /courses/{id} last gave it: events carry only each marker's quote.
    citations: new Map(),
    streams: new Map(), // "stage/theme/topic" -> text since the stream's last `start`
    writingDirty: new Set(),
    writingTimer: null,
  };
  return state;
}

export function clearJob() {
  state = null;
}

export const streamKey = (stage, theme, topic) => `${stage}/${theme}/${topic}`;
export const topicOf = (i, j) => state.course.themes[i]?.topics?.[j];

// Keep the checked citations of a course that GET /courses/{id} answered with.
export function keepCitations(current, course) {
  current.citations.clear();
  (course?.themes || []).forEach((theme, i) =>
    (theme.topics || []).forEach((topic, j) => {
      if (topic.citations?.length) current.citations.set(`${i}/${j}`, topic.citations);
    }),
  );
}
