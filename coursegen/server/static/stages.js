// The pipeline's stages in words, as GET /info names them (the server defines them once).
import { api } from "./api.js";

let labels = new Map();

// Ask the server once the page can (a keyed server answers after a key is given).
export async function loadStages() {
  if (labels.size) return false;
  const answer = await api("GET", "/info");
  if (!answer.ok) return false;
  labels = new Map((answer.data.stages || []).map((s) => [s.name, s.label || s.name]));
  return true;
}

// A stage in words; its own name until the server has said (or for a stage it did not list).
export const stageLabel = (name) => labels.get(name) || name;
