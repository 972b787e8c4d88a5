"""Serve the web page: a form for a new course and a live view of it as it is written."""

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coursegen.prompts import LANGUAGE_NAMES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
LANGUAGES_MARK = "<!-- languages -->"

# The page loads only its own script and stylesheet and talks only to this server; model text
# is put in the page as text nodes, and this policy stops anything that slips through.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
# nosniff, no framing and no referrer come from the app's GuardMiddleware on every response.
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}

router = APIRouter(tags=["web"], include_in_schema=False)


@lru_cache
def index_html() -> str:
    """index.html with the language choices of the API filled in."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    options = "\n".join(
        f'            <option value="{html.escape(code)}">{html.escape(name)} ({code})</option>'
        for code, name in sorted(LANGUAGE_NAMES.items(), key=lambda item: item[1])
    )
    return page.replace(LANGUAGES_MARK, options.lstrip())


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    """The web page (the job to show is in its URL: `/?job=<id>`)."""
    return HTMLResponse(index_html(), headers=PAGE_HEADERS)


# Browsers refuse a module script served under any other type, and StaticFiles guesses types
# from the host's mime.types, which may map .js to text/plain or nothing.
JS_TYPE = b"text/javascript; charset=utf-8"


class _StaticWithHeaders:
    """StaticFiles that adds the page's headers (browsers revalidate: the files change with
    the server, and a stale script must not outlive an upgrade) and types scripts as such."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        script = str(scope.get("path", "")).endswith(".js")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                retype = script and message.get("status") == 200
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (retype and k.lower() == b"content-type")
                ]
                headers += [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
                if retype:
                    headers.append((b"content-type", JS_TYPE))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


router.mount("/static", _StaticWithHeaders(StaticFiles(directory=STATIC_DIR)), name="static")
