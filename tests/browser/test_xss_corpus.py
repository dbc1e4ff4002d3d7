"""The XSS corpus (issue 10, the proof): no payload runs, on any page that shows it.

Each payload goes through the edge as a user's input would (a post body
through `new_post`: Markdown, sanitizer; an about me through its validator)
into a store of its own; then `build.py serve` builds the site from it and
Chromium loads every page that shows them: the permalinks, the profile and
its archive pages, explore and its archives, the home feed in the UI (the
API's HTML put in the page by app.js), edit profile, the Atom feeds, and
each about-me profile. The pages' Content-Security-Policy is bypassed: the
markup itself must be inert, whatever the headers. A hook records any
dialog, any call of alert/confirm/prompt/print and of a marker function the
payloads call, and any navigation away; zero is the only pass. The rendered
post bodies are also checked structurally: only the allow-list's tags and
attributes, and no link to a script-capable scheme.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from functions import auth, urls
from functions.domain import User, validate_about_me
from functions.services import new_post
from functions.store.sqlite import SQLiteStore
from tests.server import serving

from .ui import PASSWORD, goto, new_context, sign_in

TAB = "\t"
PAYLOADS = [
    # script tags, as written and disguised
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(3)</scr</script>ipt>",
    "<<script>alert(4);//<</script>",
    "<svg><script>alert(5)</script></svg>",
    # event handlers
    "<img src=x onerror=alert(6)>",
    '<img src="x" onerror="alert(7)"/>',
    "<svg onload=alert(8)>",
    "<svg/onload=alert(9)>",
    "<body onload=alert(10)>",
    "<details open ontoggle=alert(11)>",
    "<video><source onerror=alert(12)></video>",
    "<audio src=x onerror=alert(13)>",
    "<input autofocus onfocus=alert(14)>",
    "<select autofocus onfocus=alert(15)></select>",
    "<textarea autofocus onfocus=alert(16)></textarea>",
    "<marquee onstart=alert(17)>x</marquee>",
    "<svg><animate onbegin=alert(18) attributeName=x dur=1s>",
    '<abbr title="x" onmouseover="alert(19)">x</abbr>',
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(20)>",
    "<img src=x:alert(21) onerror=eval(src)>",
    "<IMG SRC=javascript:alert(22)>",
    # javascript: and data: links, in HTML and in Markdown
    '<a href="javascript:alert(23)">x</a>',
    '<a href="  javascript:alert(24)">x</a>',
    f'<a href="java{TAB}script:alert(25)">x</a>',
    '<a href="&#x6A;avascript:alert(26)">x</a>',
    '<a href="jav&#x09;ascript:alert(27)">x</a>',
    '<a href="vbscript:msgbox(28)">x</a>',
    "<a href=data:text/html,%3Cscript%3Ealert(29)%3C/script%3E>x</a>",
    "[click](javascript:alert(30))",
    "[click](JaVaScRiPt:alert(31))",
    "[click](javascript&#58;alert(32))",
    "[click](&#106;avascript:alert(33))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgzNCk8L3NjcmlwdD4=)",
    "![img](javascript:alert(35))",
    '![x](x" onerror="alert(36))',
    '[x](http://a.example/" onmouseover="alert(37))',
    '[x](https://ok.example "t\\" onclick=\\"alert(38)")',
    "<https://ok.example/?q=<script>alert(39)</script>>",
    # frames, objects, forms, meta, base, style
    '<iframe src="javascript:alert(40)"></iframe>',
    '<iframe srcdoc="<script>parent.alert(41)</script>"></iframe>',
    '<object data="javascript:alert(42)"></object>',
    '<embed src="javascript:alert(43)">',
    '<form action="javascript:alert(44)"><button>x</button></form>',
    '<button formaction="javascript:alert(45)">x</button>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(46)">',
    '<base href="javascript:alert(47)//">',
    "<style>@import 'javascript:alert(48)';</style>",
    '<div style="background:url(javascript:alert(49))">x</div>',
    '<link rel=import href="data:text/html,<script>alert(50)</script>">',
    # SVG
    '<svg><a xlink:href="javascript:alert(51)"><text x="20" y="20">x</text></a></svg>',
    '<svg><use href="data:image/svg+xml,<svg id=x onload=alert(52)>#x"/></svg>',
    # attribute and context breakouts
    '"><script>alert(53)</script>',
    "'><img src=x onerror=alert(54)>",
    "</textarea><script>alert(55)</script>",
    "</title><script>alert(56)</script>",
    "--><script>alert(57)</script>",
    "]]><script>alert(58)</script>",
    "<a title='x\" onclick=alert(59) \"'>x</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(60)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(61)>">',
    # entity and Unicode tricks: must stay text
    "&lt;script&gt;alert(62)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(63)&#62;",
    "\\u003cscript\\u003ealert(64)\\u003c/script\\u003e",
    "\uff1cscript\uff1ealert(65)\uff1c/script\uff1e",  # fullwidth < >
    "<scr\u200bipt>alert(66)</scr\u200bipt>",
    "\u202e<img src=x onerror=alert(67)>",
    # Markdown code keeps its text
    "`<script>alert(68)</script>`",
    "```\n<script>alert(69)</script>\n```",
]
assert len(PAYLOADS) >= 50

# Every call is reported to the test at once (an exposed binding), so a
# handler that fires late, even after the test moved on, is still caught.
HOOK = """
(() => {
  const hits = (window.__xss_hits = []);
  const record = (what) => (...args) => {
    const hit = `${what}(${args.join(",")})`;
    hits.push(hit);
    window.__xss_report(location.pathname, hit);
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) window[name] = record(name);
  window.__xss = record("__xss");
})();
"""
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "i", "li", "ol", "p", "pre",
    "strong", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"href", "title", "rel"}
SAFE_SCHEMES = {"http:", "https:", "mailto:"}
PARALLEL = 3  # pages loading side by side
DANGEROUS_TAG = re.compile(r"<(script|img|svg|iframe|object|embed|style|math|form)\b", re.I)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Iterator[dict]:
    """A stack whose store holds the corpus, written through the edge before
    its start-up build: one author of every payload as a post (and of the
    first as about me), and one user per payload as about me."""
    root = tmp_path_factory.mktemp("xss")
    store = SQLiteStore(root / "var" / "microblog.sqlite3")
    author = User.new("mallory", "mallory@example.com", auth.hash_password(PASSWORD))
    store.create_user(author.replace(about_me=validate_about_me(PAYLOADS[0])))
    # A paragraph before each payload keeps the post from being empty once
    # sanitized (an empty post is refused at the edge).
    posts = [
        store.create_post(new_post(author.id, f"payload {n}\n\n{payload}", "en"))
        for n, payload in enumerate(PAYLOADS)
    ]
    about = []
    for n, payload in enumerate(PAYLOADS):
        user = User.new(f"about{n}", f"about{n}@example.com", "pbkdf2:sha256:1$s$" + "0" * 64)
        store.create_user(user.replace(about_me=validate_about_me(payload[:140])))
        about.append(user.username)
    store.close()
    env = {"VAR_DIR": str(root / "var"), "SITE_DIR": str(root / "site"), "STORE": "sqlite"}
    with serving(env, root / "serve.log") as base:
        yield {"base": base, "author": author.username, "posts": posts, "about": about}


@pytest.fixture
def watched(browser, corpus):
    """A page with the CSP bypassed and the hook installed; what it records,
    with the dialogs and the pages left for another origin."""
    context = new_context(browser, corpus["base"], bypass_csp=True)
    seen: list[str] = []
    context.expose_binding(
        "__xss_report", lambda _source, where, hit: seen.append(f"{where}: {hit}")
    )
    context.add_init_script(HOOK)
    context.on("dialog", lambda dialog: (seen.append(f"dialog {dialog.message}"), dialog.dismiss()))
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)(?!www\.gravatar)"), lambda r: r.abort())
    pages = [context.new_page() for _ in range(PARALLEL)]
    yield pages, seen
    with contextlib.suppress(Exception):
        context.close()


def visit(page, seen: list[str], base: str, url: str) -> None:
    """Load a page of the UI, until app.js has filled it in."""
    goto(page, url)
    if not page.url.startswith(base):
        seen.append(f"{url}: left for {page.url}")


def visit_all(pages: list, seen: list[str], base: str, addresses: list[str], check) -> None:
    """Load `addresses` a few at a time (one per page, side by side), each
    until its load event (images failed, onload/onerror fired); then
    `check(page, url)` on each."""
    for start in range(0, len(addresses), len(pages)):
        batch = list(zip(pages, addresses[start : start + len(pages)], strict=False))
        for page, url in batch:
            page.goto(url, wait_until="commit")
        for page, url in batch:
            page.wait_for_load_state("load")
            if not page.url.startswith(base):
                seen.append(f"{url}: left for {page.url}")
            check(page, url)


def check_post_bodies(page, url: str) -> list[str]:
    """The rendered post bodies hold only allowed tags, attributes and schemes."""
    problems = page.evaluate(
        """([tags, attributes, schemes]) => {
          const bad = [];
          for (const el of document.querySelectorAll(".post-body *")) {
            const tag = el.localName;
            if (!tags.includes(tag)) bad.push(`<${tag}>`);
            for (const attr of el.attributes)
              if (!attributes.includes(attr.name)) bad.push(`${tag}[${attr.name}]`);
            if (tag === "a" && el.hasAttribute("href")) {
              const scheme = new URL(el.getAttribute("href"), location.href).protocol;
              if (!schemes.includes(scheme)) bad.push(`a[href=${el.getAttribute("href")}]`);
            }
          }
          return bad;
        }""",
        [sorted(ALLOWED_TAGS), sorted(ALLOWED_ATTRIBUTES), sorted(SAFE_SCHEMES)],
    )
    return [f"{url}: {problem}" for problem in problems]


def test_no_payload_runs_on_any_page_that_shows_it(watched, corpus):
    pages, seen = watched
    page = pages[0]
    base, author = corpus["base"], corpus["author"]
    posts = corpus["posts"]
    sign_in(page, author)  # the home feed and edit profile are the author's own
    structure: list[str] = []
    shown: list[int] = []

    def post_pages(page, url: str) -> None:
        structure.extend(check_post_bodies(page, url))
        shown.append(page.locator(".post-body").count())

    static = [urls.user_page(author), urls.EXPLORE]
    static += [urls.user_archive(author, k) for k in range(1, len(posts) // 25 + 2)]
    static += [urls.explore_archive(k) for k in range(1, len(posts) // 25 + 2)]
    static += [urls.post_page(post.id) for post in posts]
    visit_all(pages, seen, base, static, post_pages)
    assert sum(shown) >= 3 * len(posts)  # permalinks, archives, explore: each at least 3 times

    for url in ("/?per_page=100", "/edit-profile/"):  # the UI's pages
        visit(page, seen, base, url)
        structure += check_post_bodies(page, url)
    page.goto("/?per_page=100")
    page.wait_for_selector("#feed .post-body")
    assert page.locator("#feed .post-body").count() == len(posts)

    feeds = [urls.EXPLORE_FEED, urls.user_feed(author)]  # Atom, as the browser shows it
    visit_all(pages, seen, base, feeds, lambda page, url: None)

    def about_me(page, url: str) -> None:
        assert page.locator(".about-me").count() == 1, url

    visit_all(pages, seen, base, [urls.user_page(name) for name in corpus["about"]], about_me)
    pages[0].wait_for_timeout(200)  # a late handler of the last pages would report by now

    assert seen == [], f"{len(seen)} payloads ran, e.g. {seen[:5]}"
    assert structure == [], f"unsafe markup in post bodies, e.g. {structure[:5]}"


def test_the_corpus_is_not_inert_without_the_sanitizer(watched, corpus):
    """The hook does catch a payload that runs: the same corpus put in a page
    raw (no sanitizer) trips it; so a zero above means something."""
    page, seen = watched[0][0], watched[1]
    goto(page, "/explore/")
    raw = "".join(f"<div>{payload}</div>" for payload in PAYLOADS)
    page.evaluate("html => { document.querySelector('main').innerHTML = html }", raw)
    page.wait_for_timeout(300)
    hits = page.evaluate("window.__xss_hits")
    assert len(hits) >= 5, hits
    assert len(seen) >= len(hits)  # each reported to the test, too


def test_feeds_carry_the_payloads_as_text(corpus):
    for url in (urls.EXPLORE_FEED, urls.user_feed(corpus["author"])):
        root = ET.fromstring(httpx.get(corpus["base"] + url).text)
        for content in root.iter("{http://www.w3.org/2005/Atom}content"):
            assert not DANGEROUS_TAG.search(content.text or ""), content.text
