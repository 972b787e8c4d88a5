// What GET /info says: the pipeline's stages in words and the model the server writes with
// (the server defines both once).
import { api } from "./api.js";

let labels = new Map();
let loaded = false;

// Ask the server once the page can (a keyed server answers after a key is given): the
// answer the first time it comes, null before and after.
export async function loadInfo() {
  if (loaded) return null;
  const answer = await api("GET", "/info");
  if (!answer.ok || loaded) return null;
  loaded = true;
  labels = new Map((answer.data.stages || []).map((s) => [s.name, s.label || s.name]));
  return answer.data;
}

// A stage in words; its own name until the server has said (or for a stage it did not list).
export const stageLabel = (name) => labels.get(name) || name;

// The model in one line, as the server's start-up log names it: `openai-compatible
// qwen2.5:7b at http://…/v1`, `sandbox`, `llamacpp SmolLM2….gguf (en only)`.
export function modelLine(model) {
  if (!model || typeof model.name !== "string") return "";
  const who = model.name === model.provider ? model.name : `${model.provider} ${model.name}`;
  const where = model.base_url ? ` at ${model.base_url}` : "";
  const only = model.languages?.length ? ` (${model.languages.join(", ")} only)` : "";
  return `${who}${where}${only}`;
}
