"""Issue, verify and revoke API keys; only their SHA-256 hashes are stored."""

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from coursegen.server.core.db import Database

KEY_PREFIX = "cgk_"
LOCAL_OWNER = "local"
"""The owner of everything made while no key exists (single-user mode)."""
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS coursegen_api_keys (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)""",
]
OWNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
OWNER_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
ENABLED_CACHE_S = 5.0  # keys created by the CLI while the server runs take effect this fast


def hash_key(key: str) -> str:
    """Hash a key for storage (keys are 256-bit random, so a plain hash is enough)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    owner: str
    name: str
    hint: str
    created_at: float
    revoked_at: float | None


class ApiKeyStore:
    """API keys in the same database as the jobs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._enabled: tuple[float, bool] | None = None

    async def setup(self) -> None:
        async with self.db.transaction() as tx:
            for statement in SCHEMA:
                await tx.run(statement)

    async def create(self, owner: str, name: str = "") -> tuple[ApiKey, str]:
        """Make a key for `owner`; return it and the secret, which is shown only once.

        Owner names keep to a safe alphabet (ValueError otherwise): they name tenants in
        stores, logs and rate-limit keys, where a `:` or a blank could make two owners one.
        """
        if not OWNER_NAME.fullmatch(owner):
            raise ValueError(f"invalid owner name {owner!r}: use {OWNER_RULE}")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(uuid.uuid4().hex[:12], owner, name, secret[:8] + "…", time.time(), None)
        async with self.db.transaction() as tx:
            await tx.run(
                "INSERT INTO coursegen_api_keys (id, owner, name, key_hash, hint, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, owner, name, hash_key(secret), key.hint, key.created_at),
            )
        self._enabled = None
        return key, secret

    async def keyless_jobs(self) -> int:
        """How many jobs were made without a key: once keys are in use, only a key whose
        owner is `local` reaches them."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT COUNT(*) AS n FROM coursegen_jobs WHERE owner = ?", (LOCAL_OWNER,)
            )
        return int(rows[0]["n"])

    async def adopt_keyless(self, owner: str) -> int:
        """Give the jobs made without a key to `owner`; return how many moved.

        A job whose idempotency key `owner` already used stays where it is (the key names
        one job per owner).
        """
        async with self.db.transaction() as tx:
            return await tx.run(
                "UPDATE coursegen_jobs SET owner = ? WHERE owner = ? AND (idempotency_key IS NULL "
                "OR idempotency_key NOT IN (SELECT idempotency_key FROM coursegen_jobs "
                "WHERE owner = ? AND idempotency_key IS NOT NULL))",
                (owner, LOCAL_OWNER, owner),
            )

    async def all_keys(self) -> list[ApiKey]:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id, owner, name, hint, created_at, revoked_at FROM coursegen_api_keys "
                "ORDER BY created_at"
            )
        return [ApiKey(**row) for row in rows]

    async def revoke(self, key_id: str) -> bool:
        async with self.db.transaction() as tx:
            done = await tx.run(
                "UPDATE coursegen_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
        self._enabled = None
        return bool(done)

    async def key_of(self, secret: str) -> ApiKey | None:
        """Return the active key with this secret, or None."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id, owner, name, hint, created_at, revoked_at FROM coursegen_api_keys "
                "WHERE key_hash = ? AND revoked_at IS NULL",
                (hash_key(secret),),
            )
        return ApiKey(**rows[0]) if rows else None

    async def enabled(self) -> bool:
        """Whether keys are in use: once any key was made, every request must carry one.

        Revoked keys count, so revoking the last key locks the service rather than opening it.
        """
        now = time.monotonic()
        if self._enabled is None or now - self._enabled[0] > ENABLED_CACHE_S:
            async with self.db.transaction() as tx:
                rows = await tx.fetch("SELECT COUNT(*) AS n FROM coursegen_api_keys")
            self._enabled = (now, bool(rows[0]["n"]))
        return self._enabled[1]
