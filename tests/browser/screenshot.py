"""Take the README's screenshot of the home page: `docs/screenshot-home.png`.

    .venv/bin/python -m tests.browser.screenshot

Starts a throwaway local stack (in a temporary folder), makes the tutorial's
users with a few posts, signs in as susan and photographs her home feed in
Debian's chromium at 1280x800.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.browser.ui import goto, launch, new_context, register_api, sign_in
from tests.server import ROOT, serving

OUT = ROOT / "docs" / "screenshot-home.png"
POSTS = {
    "john": ["Beautiful day in Portland!", "Anyone up for *coffee* at the corner café?"],
    "mary": ["Mary had a little lamb; its fleece was **white as snow**."],
    "david": ["Hoy es un día precioso en Madrid. ¡Vamos al parque!"],
    "susan": ["The Avengers movie was so cool!", "Reading the Flask Mega-Tutorial, again."],
}


def main(out: Path = OUT) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"VAR_DIR": f"{tmp}/var", "SITE_DIR": f"{tmp}/site", "STORE": "sqlite"}
        with serving(env, Path(tmp) / "serve.log") as base:
            ids = {}
            for name, bodies in POSTS.items():
                ids[name] = register_api(base, name)["id"]
                with httpx.Client(base_url=base) as http:
                    password = "correct-horse-battery"
                    http.post("/api/session", json={"username": name, "password": password})
                    for body in bodies:
                        assert http.post("/api/posts", json={"body": body}).status_code == 201
                    if name == "susan":
                        for other in ("john", "mary", "david"):
                            http.post(f"/api/users/{ids[other]}/follow")
            with sync_playwright() as playwright:
                browser = launch(playwright)
                page = new_context(browser, base).new_page()
                sign_in(page, "susan")
                goto(page, "/")
                page.wait_for_selector("#feed .post")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
                browser.close()
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
