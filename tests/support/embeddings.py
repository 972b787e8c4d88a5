"""Embed texts deterministically for the scripted server: a hashed bag of concepts.

Each word is folded to a concept (a small synonym table, then a crude plural strip) and the
concept hashed to one of DIMENSIONS signed buckets; the vector is the normalised count.
Texts sharing concepts are near even where they share no word ("car" and "automobile"),
which is what a real embeddings model adds to full-text search.
"""

import base64
import hashlib
import re

import numpy as np

DIMENSIONS = 256
SYNONYMS = {
    "automobile": "car", "vehicle": "car", "motorcar": "car",
    "motor": "engine", "powerplant": "engine",
    "physician": "doctor", "medic": "doctor",
    "gasoline": "fuel", "petrol": "fuel",
}  # fmt: skip


def concept(word: str) -> str:
    """The concept a word stands for here."""
    word = word.casefold()
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return SYNONYMS.get(word, word)


def embed(text: str) -> list[float]:
    """The unit vector of a text (zero vector for a text with no words)."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for word in re.findall(r"\w+", text):
        digest = hashlib.blake2b(concept(word).encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % DIMENSIONS
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).tolist()


def encode(vector: list[float], encoding_format: str) -> list[float] | str:
    """The vector as the embeddings API sends it: floats, or base64 of float32 (the openai
    SDK asks for base64 unless told otherwise)."""
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
    return vector
