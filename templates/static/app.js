// Microblog's browser UI: one ES module, no build step, loaded on every page
// (with a content-hashed name) by base.html.
//
// The pages are static HTML; this module makes them personal with same-origin
// fetch() calls to /api: the navigation shows who is logged in, the app
// shells (/, /login/, /register/, /reset-password/, /edit-profile/) get their
// forms wired up, profile pages get a Follow/Unfollow button, every <time> is
// shown in local time, posts in another language get a "Translate" link (for
// a logged-in reader, where translation is configured), and an avatar that
// Gravatar cannot serve becomes the user's initial on a colour of their own.
// Markup lives in the templates (<template> elements); this file only fills
// it in. Without JavaScript every page still reads fine.

const API = "/api";
const FLASH_KEY = "microblog.flash";
const FEED_TRAIL_KEY = "microblog.feed-trail";

// ------------------------------------------------------------------ i18n

// The page's language (base.html's <html lang>): its messages, dates and
// links. Other languages' messages are a hashed JSON asset of the page's
// (<link id="i18n-catalog">, made by `build.py translate compile` from the
// .po): {msgid: translation, singular: [one, many]}. English needs none.
const LANG = document.documentElement.lang || "en";
const DEFAULT_LANG = "en";
const LANG_COOKIE = "lang";

async function loadCatalog() {
  const link = document.getElementById("i18n-catalog");
  if (!link) return {};
  try {
    const response = await fetch(link.href, { credentials: "same-origin" });
    return response.ok ? await response.json() : {};
  } catch {
    return {}; // the English messages, rather than none
  }
}

// Asked for at once (the page preloads it), alongside GET /api/me; main()
// waits for it before anything shows a message.
let CATALOG = {};
const catalogLoaded =
  LANG === DEFAULT_LANG ? Promise.resolve() : loadCatalog().then((c) => (CATALOG = c));

/** A message in the page's language, with `%(name)s` filled from `params`
 * (Babel extracts the first argument of every t() call). */
function t(message, params = {}) {
  return fill(typeof CATALOG[message] === "string" ? CATALOG[message] : message, params);
}

function fill(text, params) {
  return text.replace(/%\((\w+)\)[sd]/g, (_, name) => String(params[name] ?? ""));
}

/** One or many (`%(num)d` is `n`); English and Spanish agree that 1 is
 * singular and everything else plural. */
function tn(singular, plural, n, params = {}) {
  const forms = Array.isArray(CATALOG[singular]) ? CATALOG[singular] : [singular, plural];
  return fill(forms[n === 1 ? 0 : 1], { num: n, ...params });
}

/** A page's address in the page's language: "/login/" is "/es/login/" on a
 * Spanish page (functions/urls.py's `localized`). */
function localPath(path) {
  return LANG === DEFAULT_LANG ? path : `/${LANG}${path}`;
}

/** The English address of a page of this language: "/es/u/ann/" is "/u/ann/". */
function englishPath(path) {
  const prefix = `/${LANG}/`;
  return LANG !== DEFAULT_LANG && path.startsWith(prefix) ? path.slice(prefix.length - 1) : path;
}

/** The messages loaded, and the footer's switch: it remembers the choice
 * (the edge and the local server read the cookie on every page request),
 * then opens the same page in the other language, query and fragment kept.
 * (Without JavaScript the link's `?lang=` asks the server to set the cookie.) */
async function initLanguage() {
  await catalogLoaded;
  for (const link of $$("a.language-switch[data-lang]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const year = 365 * 24 * 3600;
      const secure = window.location.protocol === "https:" ? "; Secure" : "";
      document.cookie = `${LANG_COOKIE}=${link.dataset.lang}; Max-Age=${year}; Path=/; SameSite=Lax${secure}`;
      window.location.assign(link.pathname + window.location.search + window.location.hash);
    });
  }
}

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || t("Error: Could not contact server."));
    this.status = status;
    this.fields = body?.fields || null;
    this.retryAfter = retryAfter;
  }
}

/** One call to the API: the parsed JSON body, or null; an ApiError otherwise. */
async function api(method, path, body, headers = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...headers },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path.startsWith(API + "/") ? path : API + path, init);
  } catch {
    throw new ApiError(0, { message: t("Could not contact server.") });
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const fallback = {
      message: t("Could not contact server (%(status)s).", { status: response.status }),
    };
    throw new ApiError(response.status, data || fallback, response.headers.get("Retry-After"));
  }
  return data;
}

/** The logged-in user, or null; asked once per page, and only when this
 * browser was given a session (the `signed_in` hint cookie the API sets and
 * clears with it): a visitor who never signed in costs no API call. A
 * session that ended meanwhile (expired, revoked) clears the hint. */
const SIGNED_IN = "signed_in";
const me = document.cookie.split(/;\s*/).includes(`${SIGNED_IN}=1`)
  ? api("GET", "/me").catch((error) => {
      if (error.status === 401) document.cookie = `${SIGNED_IN}=; Max-Age=0; Path=/; SameSite=Lax`;
      return null;
    })
  : Promise.resolve(null);

// ------------------------------------------------------------------ helpers

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A copy of `<template id=...>`'s content. */
function fromTemplate(id) {
  return document.getElementById(id).content.cloneNode(true);
}

/** Where `?next=` may send one: an address of this origin, else "/". The
 * value is parsed as the browser will parse it (URL drops tabs and newlines,
 * reads "\" as "/"), so no spelling can reach another origin; the absolute
 * href is returned, so "//host" cannot come back as a path. */
function safeNext(value) {
  const origin = window.location.origin;
  let url;
  try {
    url = new URL(value || localPath("/"), origin);
  } catch {
    return localPath("/");
  }
  return url.origin === origin ? url.href : localPath("/");
}

function go(url, message) {
  if (message) flashLater(message);
  window.location.assign(url);
}

// ------------------------------------------------------------------ flash

function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  if (!box) return;
  const item = document.createElement("p");
  item.className = `flash-message flash-${kind}`;
  item.textContent = message;
  box.append(item);
}

function clearFlash() {
  const box = document.getElementById("flash");
  if (box) box.replaceChildren();
}

/** A message for the next page (the tutorial's flash() before a redirect). */
function flashLater(message, kind = "info") {
  const pending = JSON.parse(sessionStorage.getItem(FLASH_KEY) || "[]");
  pending.push({ message, kind });
  sessionStorage.setItem(FLASH_KEY, JSON.stringify(pending));
}

function showPendingFlashes() {
  const pending = JSON.parse(sessionStorage.getItem(FLASH_KEY) || "[]");
  sessionStorage.removeItem(FLASH_KEY);
  for (const { message, kind } of pending) flash(message, kind);
}

// ------------------------------------------------------------------ forms

function clearErrors(form) {
  for (const error of $$(".field-error", form)) error.remove();
  for (const field of $$("[aria-invalid]", form)) {
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-describedby");
  }
}

/** Messages next to their fields; focus goes to the first one. Returns the
 * messages that have no field in this form. */
function showErrors(form, errors) {
  const orphans = [];
  let first = null;
  for (const [name, message] of Object.entries(errors)) {
    const field = form.elements.namedItem(name);
    if (!field || !field.id) {
      orphans.push(message);
      continue;
    }
    const error = document.createElement("span");
    error.className = "field-error";
    error.id = `${field.id}-error`;
    error.textContent = message;
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", error.id);
    field.after(error);
    first ??= field;
  }
  first?.focus();
  return orphans;
}

/** Wire a form: client-side checks, then `submit(values)`; API errors are
 * shown next to their fields or as a flash message. */
function handleForm(form, { validate = () => ({}), submit }) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    clearFlash(); // as the tutorial's flash messages: shown once, until the next action
    const values = Object.fromEntries(new FormData(form));
    for (const box of $$("input[type=checkbox]", form)) values[box.name] = box.checked;
    const errors = validate(values);
    if (Object.keys(errors).length) {
      showErrors(form, errors);
      return;
    }
    const button = $("button[type=submit]", form);
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await submit(values);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const orphans = error.fields ? showErrors(form, error.fields) : [error.message];
      for (const message of orphans) flash(message, "error");
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

/** The tutorial's WTForms checks and messages. */
function required(values, ...names) {
  const errors = {};
  for (const name of names) {
    if (!String(values[name] ?? "").trim()) errors[name] = t("This field is required.");
  }
  return errors;
}

function checkRepeat(values, errors) {
  if (!errors.password2 && values.password2 !== values.password) {
    errors.password2 = t("Field must be equal to password.");
  }
  return errors;
}

function checkEmail(values, errors) {
  if (!errors.email && !/^[^@\s]+@[^@\s]+$/.test(values.email.trim())) {
    errors.email = t("Invalid email address.");
  }
  return errors;
}

// ------------------------------------------------------------------ navigation

function renderNav(user) {
  const slot = document.getElementById("nav-user");
  if (!slot || !user) return;
  slot.replaceChildren(fromTemplate("nav-signed-in"));
  $(".nav-profile", slot).href = localPath(user._links.profile);
  $(".nav-logout", slot).addEventListener("click", async () => {
    try {
      await api("DELETE", "/session");
    } catch {
      // already logged out: nothing to undo
    }
    go(localPath("/"));
  });
}

// ------------------------------------------------------------------ times

const RELATIVE_UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

const fullTime = new Intl.DateTimeFormat(LANG, { dateStyle: "long", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(LANG, { numeric: "auto" });

/** "3 minutes ago", "yesterday" (Moment's fromNow()); a clock a little behind
 * the server's reads "now", never "in 2 seconds". */
function fromNow(date, now = Date.now()) {
  const seconds = Math.min(0, Math.round((date.getTime() - now) / 1000));
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(0, "second");
}

/** Every `<time datetime>` under `root` in the reader's time zone: full time
 * for `data-format="full"` (profiles' "Last seen on"), else "3 minutes ago";
 * the title always holds the full local time. */
function localizeTimes(root = document) {
  for (const time of $$("time[datetime]", root)) {
    const date = new Date(time.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    const full = fullTime.format(date);
    time.title = full;
    time.textContent = time.dataset.format === "full" ? full : fromNow(date);
  }
}

// ------------------------------------------------------------------ translation

function readerLanguage() {
  return LANG; // the language the reader chose for the interface
}

/** Whether a "Translate" link can work: GET /api/me says so for a logged-in
 * reader when the server has translation configured; otherwise none is shown. */
let canTranslate = false;

/** A "Translate" link under each post written in another language. */
function addTranslateLinks(root = document) {
  const mine = readerLanguage();
  for (const body of $$(".post .post-body[lang]", root)) {
    const lang = body.lang.split("-")[0].toLowerCase();
    if (!lang || lang === "und" || lang === mine || body.dataset.translatable) continue;
    body.dataset.translatable = "yes";
    const slot = fromTemplate("translate-link").firstElementChild;
    body.after(slot);
    $("button", slot).addEventListener("click", () => translate(body, lang, mine, slot));
  }
}

async function translate(body, source, dest, slot) {
  slot.replaceChildren(t("Translating…"));
  slot.setAttribute("aria-busy", "true");
  try {
    const result = await api("POST", "/translate", {
      text: body.innerText.trim(),
      source_language: source,
      dest_language: dest,
    });
    body.replaceChildren(...result.text.split(/\n+/).map((line) => paragraph(line)));
    body.lang = dest;
    slot.remove();
  } catch (error) {
    slot.textContent = t("Error: %(message)s", { message: error.message });
  } finally {
    slot.removeAttribute("aria-busy");
  }
}

function paragraph(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

/** What every page shows of posts and times, also after posts are added. */
function enhance(root = document) {
  localizeTimes(root);
  if (canTranslate) addTranslateLinks(root);
}

// ------------------------------------------------------------------ avatars

/** A hue of the name's own: the same on every page and every visit. */
function nameHue(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

/** Gravatar out of reach (offline, blocked): draw the user's initial on a
 * colour from their name in place of the broken image, with its size, class
 * and text alternative. An inline SVG, so the CSP's img-src is not involved. */
function replaceAvatar(img) {
  const name = img.dataset.name || "?";
  const svg = fromTemplate("avatar-fallback").firstElementChild;
  for (const attribute of ["width", "height"]) {
    svg.setAttribute(attribute, img.getAttribute(attribute));
  }
  svg.classList.add(...img.classList);
  if (img.alt) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", img.alt);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  $("rect", svg).setAttribute("fill", `hsl(${nameHue(name)} 55% 40%)`);
  $("text", svg).textContent = [...name][0].toUpperCase();
  img.replaceWith(svg);
}

/** Avatars that failed before this module ran, and any that fail later
 * (also those the feed adds): error events do not bubble, but are captured. */
function watchAvatars() {
  document.addEventListener(
    "error",
    (event) => {
      if (event.target instanceof HTMLImageElement && "name" in event.target.dataset) {
        replaceAvatar(event.target);
      }
    },
    true,
  );
  for (const img of $$("img[data-name]")) {
    if (img.complete && img.naturalWidth === 0) replaceAvatar(img);
  }
}

// ------------------------------------------------------------------ pages

async function homePage(section, user) {
  if (!user) return; // the static welcome stays
  const params = new URLSearchParams(window.location.search);
  const cursor = params.get("cursor");
  const perPage = params.get("per_page");
  section.replaceChildren(fromTemplate("home-signed-in"));
  $(".home-username", section).textContent = user.username;
  const form = $("#post-form", section);
  // One key per submission: pressing Submit again after a lost answer sends
  // the same key, and the server answers with the first post, not a second.
  let postKey = crypto.randomUUID();
  form.addEventListener("input", () => {
    postKey = crypto.randomUUID(); // another text: another submission
  });
  handleForm(form, {
    validate: (values) => required(values, "body"),
    submit: async (values) => {
      await api("POST", "/posts", { body: values.body }, { "Idempotency-Key": postKey });
      postKey = crypto.randomUUID();
      if (cursor) {
        go(window.location.pathname, t("Your post is now live!"));
        return;
      }
      form.reset();
      flash(t("Your post is now live!"));
      await loadFeed(section, null, perPage);
    },
  });
  await loadFeed(section, cursor, perPage);
}

/** One page of the feed; Older follows the API's next link, Newer goes back
 * along the cursors seen in this tab (cursors go one way). */
async function loadFeed(section, cursor, perPage) {
  const feed = $("#feed", section);
  feed.setAttribute("aria-busy", "true");
  const query = new URLSearchParams();
  if (perPage) query.set("per_page", perPage);
  if (cursor) query.set("cursor", cursor);
  let page;
  try {
    const search = query.toString();
    page = await api("GET", search ? `/feed?${search}` : "/feed");
  } catch (error) {
    feed.removeAttribute("aria-busy");
    flash(error.message, "error");
    return;
  }
  feed.innerHTML = page.items.map((item) => item.html).join("\n");
  if (!page.items.length) feed.replaceChildren(fromTemplate("feed-empty"));
  feed.removeAttribute("aria-busy");
  enhance(feed);

  showPager(section, page, { cursor, perPage, path: localPath("/"), trailKey: FEED_TRAIL_KEY });
}

/**
 * The "Newer"/"Older" links of a page of an API collection. A cursor only
 * goes forward, so the way back is remembered in sessionStorage under
 * `trailKey`: each next cursor -> the cursor of the page before it.
 */
function showPager(section, page, { cursor, perPage, path, trailKey }) {
  const trail = JSON.parse(sessionStorage.getItem(trailKey) || "{}");
  const link = (at) => {
    const q = new URLSearchParams();
    if (at) q.set("cursor", at);
    if (perPage) q.set("per_page", perPage);
    const search = q.toString();
    return search ? `${path}?${search}` : path;
  };
  const next = page._meta.next_cursor;
  if (next) {
    trail[next] = cursor || "";
    sessionStorage.setItem(trailKey, JSON.stringify(trail));
  }
  const newer = $(".pager .newer", section);
  const older = $(".pager .older", section);
  newer.hidden = !cursor;
  newer.href = link(cursor ? trail[cursor] : null);
  older.hidden = !next;
  older.href = link(next);
  $(".pager", section).hidden = newer.hidden && older.hidden;
}

function loginPage(form, user) {
  const next = safeNext(new URLSearchParams(window.location.search).get("next"));
  if (user) {
    window.location.replace(next);
    return;
  }
  handleForm(form, {
    validate: (values) => required(values, "username", "password"),
    submit: async (values) => {
      try {
        await api("POST", "/session", {
          username: values.username,
          password: values.password,
          remember_me: Boolean(values.remember_me),
        });
      } catch (error) {
        if (error.status === 401) {
          throw new ApiError(401, { message: t("Invalid username or password") });
        }
        const wait = Number(error.retryAfter);
        if (error.status === 429 && wait > 0) {
          const when =
            wait < 60
              ? relative.format(wait, "second")
              : relative.format(Math.ceil(wait / 60), "minute");
          throw new ApiError(429, {
            message: t("%(message)s You can try again %(when)s.", { message: error.message, when }),
          });
        }
        throw error;
      }
      go(next);
    },
  });
}

function registerPage(form, user) {
  if (user) {
    window.location.replace(localPath("/"));
    return;
  }
  handleForm(form, {
    validate: (values) =>
      checkRepeat(
        values,
        checkEmail(values, required(values, "username", "email", "password", "password2")),
      ),
    submit: async (values) => {
      await api("POST", "/users", {
        username: values.username,
        email: values.email,
        password: values.password,
      });
      go(localPath("/login/"), t("Congratulations, you are now a registered user!"));
    },
  });
}

function resetPasswordPage(requestForm, user) {
  // The link carries the token in its fragment, which browsers never send to a
  // server (no access log, CDN log or Referer holds it); older links, in the query.
  const token =
    new URLSearchParams(window.location.hash.slice(1)).get("token") ||
    new URLSearchParams(window.location.search).get("token");
  if (!token) {
    if (user) {
      window.location.replace(localPath("/"));
      return;
    }
    handleForm(requestForm, {
      validate: (values) => checkEmail(values, required(values, "email")),
      submit: async (values) => {
        await api("POST", "/reset_password_request", { email: values.email });
        go(
          localPath("/login/"),
          t("Check your email for the instructions to reset your password"),
        );
      },
    });
    return;
  }
  const form = document.getElementById("reset-form");
  requestForm.hidden = true;
  form.hidden = false;
  handleForm(form, {
    validate: (values) => checkRepeat(values, required(values, "password", "password2")),
    submit: async (values) => {
      await api("POST", "/reset_password", { token, password: values.password });
      go(localPath("/login/"), t("Your password has been reset."));
    },
  });
}

function editProfilePage(form, user) {
  if (!user) {
    const next = encodeURIComponent(window.location.pathname);
    go(`${localPath("/login/")}?next=${next}`, t("Please log in to access this page."));
    return;
  }
  form.elements.username.value = user.username;
  form.elements.about_me.value = user.about_me || "";
  handleForm(form, {
    validate: (values) => {
      const errors = required(values, "username");
      if (values.about_me.length > 140) {
        errors.about_me = t("Field cannot be longer than 140 characters.");
      }
      return errors;
    },
    submit: async (values) => {
      const saved = await api("PUT", `/users/${user.id}`, {
        username: values.username.trim(),
        about_me: values.about_me,
      });
      flash(t("Your changes have been saved."));
      renderNav(saved);
    },
  });
}

// ------------------------------------------------------------------ profiles

function showCounts(section, user) {
  for (const [selector, count, word] of [
    [".follower-count", user.follower_count, tn("follower", "followers", user.follower_count)],
    [".followed-count", user.followed_count, null],
  ]) {
    const span = $(selector, section);
    if (!span) continue;
    span.textContent = String(count);
    const after = span.nextSibling;
    if (word && after?.nodeType === Node.TEXT_NODE) {
      after.textContent = after.textContent.replace(/^ [^,]+/, ` ${word}`);
    }
  }
}

async function profilePage(section, viewer) {
  const id = section.dataset.userId;
  let user;
  try {
    user = await api("GET", `/users/${id}`);
  } catch {
    return; // the static page stands as it is
  }
  showCounts(section, user);
  const lastSeen = $(".last-seen", section);
  if (lastSeen && user.last_seen) {
    // Not in the static page: it would change the file at every visit.
    const time = document.createElement("time");
    time.dataset.format = "full";
    time.dateTime = user.last_seen;
    lastSeen.replaceChildren(t("Last seen on: "), time);
    localizeTimes(lastSeen);
    lastSeen.hidden = false;
  }
  const actions = document.getElementById("profile-actions");
  if (!viewer || !actions) return;
  if (viewer.id === user.id) {
    actions.replaceChildren(fromTemplate("profile-edit"));
    return;
  }
  actions.replaceChildren(fromTemplate("profile-follow"));
  wireFollow($("button", actions), user, (fresh) => showCounts(section, fresh));
}

const FOLLOW_CHANGED = "microblog:follow";

/** A Follow/Unfollow button for `user` (as GET /api/users/{id} answers it,
 * with `is_following`): it says what the tutorial says, and `onChange` gets
 * the user as the API shows it after each change (the new counts). Every
 * button of that user on the page (the profile's, a user popup's) follows
 * the change. */
function wireFollow(button, user, onChange) {
  let following = Boolean(user.is_following);
  const label = () => {
    button.textContent = following ? t("Unfollow") : t("Follow");
    button.classList.toggle("secondary", following);
  };
  label();
  document.addEventListener(FOLLOW_CHANGED, ({ detail }) => {
    if (detail.id !== user.id) return;
    following = detail.following;
    label();
    if (detail.user) onChange(detail.user);
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    clearFlash();
    try {
      await api(following ? "DELETE" : "POST", `/users/${user.id}/follow`);
      const now = !following;
      flash(
        now
          ? t("You are following %(username)s!", { username: user.username })
          : t("You are not following %(username)s.", { username: user.username }),
      );
      const fresh = await api("GET", `/users/${user.id}`).catch(() => null);
      const detail = { id: user.id, following: now, user: fresh };
      document.dispatchEvent(new CustomEvent(FOLLOW_CHANGED, { detail }));
    } catch (error) {
      flash(error.message, "error");
    } finally {
      button.disabled = false;
      button.focus();
    }
  });
}

// ------------------------------------------------------------------ export

const EXPORT_POLL_MS = 2000;

/** "Export your posts" on one's own profile (the tutorial's chapter 22): the
 * link starts a background task (POST /api/exports), whose progress is read
 * every couple of seconds while it runs (GET /api/exports/current, one item
 * read), until it says the posts were mailed. A task running when the page
 * opens is followed the same way. Only the owner's page makes these calls. */
async function exportPosts(viewer) {
  const profile = $(".profile[data-user-id]");
  if (!viewer || !profile || profile.dataset.userId !== viewer.id) return;
  const slot = fromTemplate("export-posts").firstElementChild;
  const link = $(".export-link", slot);
  const status = $(".export-status", slot);
  link.hidden = true; // until the current task is known: a running one hides it
  $(".profile-actions", profile).after(slot);

  const show = (task) => {
    link.hidden = task.running;
    if (task.running) {
      status.replaceChildren(fromTemplate("export-running"));
      $(".export-percent", status).textContent = String(task.progress);
    } else if (!task.complete) {
      status.replaceChildren(fromTemplate("export-stopped")); // its job died
    } else if (task.error) {
      status.replaceChildren(fromTemplate("export-failed"));
      $(".export-error", status).textContent = task.error;
    } else {
      status.replaceChildren(fromTemplate("export-done"));
    }
  };
  const follow = async () => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, EXPORT_POLL_MS));
      let task;
      try {
        task = await api("GET", "/exports/current");
      } catch (error) {
        link.hidden = false;
        return flash(error.message, "error");
      }
      show(task);
      if (!task.running) return;
    }
  };

  link.addEventListener("click", async (event) => {
    event.preventDefault();
    clearFlash();
    link.hidden = true;
    try {
      show(await api("POST", "/exports"));
    } catch (error) {
      flash(error.message, error.status === 409 ? "info" : "error");
      if (error.status !== 409) {
        link.hidden = false;
        return;
      }
    }
    await follow();
  });

  let current = null;
  try {
    current = await api("GET", "/exports/current");
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  link.hidden = false;
  if (current?.running) {
    show(current);
    await follow();
  }
}

// ------------------------------------------------------------------ messages
// Private messages (the tutorial's chapter 21): a "Send private message" link
// on other users' profiles, the Send Message page (/send-message/?to=<name>),
// the Messages page (/messages/), and the unread count in the navigation's
// badge, kept live by polling GET /api/notifications (the tutorial's poll).
// Each notification is also dispatched as a "microblog:notification" event on
// `document`, so another kind (a task's progress) needs no change here.

const MESSAGES_TRAIL_KEY = "microblog.messages-trail";
const MESSAGE_MAX = 140;
/** Milliseconds between polls: the tutorial's 10 s. The browser tests shorten
 * it by setting `window.microblogPollInterval` before the page loads. */
const pollInterval = () => Number(window.microblogPollInterval) || 10_000;

let unreadMessages = 0;

/** The badge next to "Messages": the count, hidden when 0. */
function setMessageCount(count) {
  unreadMessages = Number(count) || 0;
  for (const badge of $$(".message-count")) {
    badge.textContent = String(unreadMessages);
    badge.hidden = unreadMessages === 0;
  }
}

const NOTIFIED = { unread_message_count: setMessageCount };

/** Poll the notifications newer than the last one seen: at once, then every
 * pollInterval() while the tab is visible; a tab coming back polls at once.
 * One GET per poll (one read on the store); a 401 (the session ended) stops it. */
function pollNotifications() {
  let since = 0;
  let timer = null;
  let busy = false;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    timer = !stopped && !document.hidden ? setTimeout(poll, pollInterval()) : null;
  };
  const poll = async () => {
    if (busy || stopped) return;
    busy = true;
    clearTimeout(timer);
    try {
      const notes = await api("GET", `/notifications?since=${since}`);
      for (const note of notes) {
        since = Math.max(since, note.timestamp);
        NOTIFIED[note.name]?.(note.data);
        document.dispatchEvent(new CustomEvent("microblog:notification", { detail: note }));
      }
      setMessageCount(unreadMessages); // also into a navigation drawn again meanwhile
    } catch (error) {
      if (error.status === 401) stopped = true;
    } finally {
      busy = false;
    }
    schedule();
  };
  document.addEventListener("visibilitychange", () => (document.hidden ? schedule() : poll()));
  poll();
}

function loginFirst() {
  const here = window.location.pathname + window.location.search;
  go(`${localPath("/login/")}?next=${encodeURIComponent(here)}`, t("Please log in to access this page."));
}

function sendMessagePage(section, user) {
  if (!user) return loginFirst();
  const to = new URLSearchParams(window.location.search).get("to") || "";
  $(".recipient", section).textContent = to;
  handleForm($("#send-message-form", section), {
    validate: (values) => {
      const errors = required(values, "body");
      if (values.body.trim().length > MESSAGE_MAX) {
        errors.body = t("Field must be between 0 and %(max)d characters long.", { max: MESSAGE_MAX });
      }
      return errors;
    },
    submit: async (values) => {
      const message = await api("POST", "/messages", { recipient: to, body: values.body });
      go(
        localPath(`/u/${encodeURIComponent(message.recipient.username)}/`),
        t("Your message has been sent."),
      );
    },
  });
}

/** The messages received, newest first; opening the page marks them read
 * first, so a message that arrives meanwhile is listed or stays unread. */
async function messagesPage(section, user) {
  if (!user) return loginFirst();
  const params = new URLSearchParams(window.location.search);
  const cursor = params.get("cursor");
  const perPage = params.get("per_page");
  await api("POST", "/messages/read");
  setMessageCount(0);
  const query = new URLSearchParams();
  if (perPage) query.set("per_page", perPage);
  if (cursor) query.set("cursor", cursor);
  const search = query.toString();
  const page = await api("GET", search ? `/messages?${search}` : "/messages");
  const list = $("#message-list", section);
  list.replaceChildren(...page.items.map(messageItem));
  if (!page.items.length) list.replaceChildren(fromTemplate("messages-empty"));
  localizeTimes(list);

  const path = window.location.pathname;
  showPager(section, page, { cursor, perPage, path, trailKey: MESSAGES_TRAIL_KEY });
}

/** One message from its template; every field goes in as text, never as HTML. */
function messageItem(message) {
  const item = fromTemplate("message-item").firstElementChild;
  const profile = localPath(`/u/${encodeURIComponent(message.sender.username)}/`);
  const avatar = $(".post-avatar", item);
  avatar.href = profile;
  const img = $("img", avatar);
  img.src = message.sender.avatar;
  img.dataset.name = message.sender.username;
  const author = $(".post-author", item);
  author.href = profile;
  author.textContent = message.sender.username;
  $("time", item).dateTime = message.timestamp;
  $(".message-body", item).textContent = message.body;
  return item;
}

/** The "Send private message" link, on another user's profile. */
function profileMessageLink(user) {
  const profile = $(".profile[data-user-id]");
  const slot = document.getElementById("profile-message");
  if (!user || !profile || !slot || profile.dataset.userId === user.id) return;
  slot.replaceChildren(fromTemplate("profile-send-message"));
  slot.hidden = false;
}

/** Everything above, for the page at hand (one call from main). */
async function messages(user) {
  if (user) {
    pollNotifications();
    profileMessageLink(user);
  }
  try {
    const send = $("#send-message[data-app=send-message]");
    if (send) sendMessagePage(send, user);
    const inbox = $("#messages[data-app=messages]");
    if (inbox) await messagesPage(inbox, user);
  } catch (error) {
    flash(error instanceof ApiError ? error.message : t("Something went wrong."), "error");
    console.error(error);
  }
}

// ------------------------------------------------------------------ user popup

// Hovering or focusing a link to a profile in a list of posts shows the
// user's popup (chapter 20): their card, the static /u/<name>/card.json
// beside the profile (a visitor costs no function call), fetched once per
// user per page load and only when first shown; for a signed-in reader, one
// GET /api/users/{id} with it, for the Follow button's state and fresh
// counts. The markup is base.html's `user-popup` template; user data goes in
// as text and attributes only. Not on touch-only devices: nothing hovers.

const POPUP_SHOW_MS = 400;
const POPUP_HIDE_MS = 300;
const PROFILE_PATH = /^\/u\/[^/]+\/$/;

/** The link to a profile, in a post, that `node` is in; else null. */
function profileLinkOf(node) {
  const link = node instanceof Element ? node.closest(".post a[href]") : null;
  if (!link || link.origin !== window.location.origin || link.closest(".user-popup")) return null;
  return PROFILE_PATH.test(englishPath(link.pathname)) ? link : null;
}

/** The card's last-seen day (a UTC date), in the page's language. */
function formatDay(day) {
  const options = { dateStyle: "long", timeZone: "UTC" };
  let format;
  try {
    format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, options);
  } catch {
    format = new Intl.DateTimeFormat(undefined, options); // a tag Intl does not know
  }
  return format.format(new Date(`${day}T00:00:00Z`));
}

/** Counts, each with its word in the singular or the plural. */
function showPopupCounts(popup, user) {
  for (const span of $$("[data-count]", popup)) {
    const count = Number(user[span.dataset.count]);
    span.textContent = String(count);
    const word = span.nextElementSibling;
    if (word?.dataset.one) word.textContent = count === 1 ? word.dataset.one : word.dataset.other;
  }
}

/** The popup of the user whose card is at `cardUrl`; null when there is none. */
async function makePopup(template, cardUrl, reader) {
  const response = await fetch(cardUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return null;
  const card = await response.json();
  const popup = template.content.firstElementChild.cloneNode(true);
  popup.id = `user-popup-${card.id}`;
  popup.setAttribute("aria-label", card.username);
  const avatar = $(".user-popup-avatar", popup);
  avatar.dataset.name = card.username;
  avatar.src = card.avatar;
  const name = $(".user-popup-name a", popup);
  name.href = localPath(card.url);
  name.textContent = card.username;
  const about = $(".user-popup-about", popup);
  about.textContent = card.about_me;
  about.hidden = !card.about_me;
  $(".user-popup-seen-day", popup).textContent = formatDay(card.last_seen);
  showPopupCounts(popup, card);
  if (reader && reader.id !== card.id) {
    try {
      const user = await api("GET", `/users/${card.id}`);
      showPopupCounts(popup, user);
      const actions = $(".user-popup-actions", popup);
      wireFollow($("button", actions), user, (fresh) => showPopupCounts(popup, fresh));
      actions.hidden = false;
    } catch {
      // the card stands, without a button
    }
  }
  return popup;
}

/** Where the popup goes: under its link, in the same positioned box (a post). */
function placePopup(popup, link) {
  link.after(popup);
  popup.style.top = `${link.offsetTop + link.offsetHeight + 4}px`;
  popup.style.left = `${link.offsetLeft}px`;
}

function userPopups(reader) {
  const template = document.getElementById("user-popup");
  if (!template || !window.matchMedia("(any-hover: hover)").matches) return;
  const popups = new Map(); // card URL -> Promise of its popup: one fetch per user
  let shown = null; // { link, popup, by: "pointer" | "focus" }
  let wanted = null; // the link whose popup is on its way
  let dismissed = null; // a link whose popup Escape closed, until left
  let showTimer = 0;
  let hideTimer = 0;

  const within = (node) =>
    Boolean(node && shown && (shown.link.contains(node) || shown.popup.contains(node)));

  function hide() {
    clearTimeout(hideTimer);
    if (!shown) return;
    shown.popup.hidden = true;
    shown.link.removeAttribute("aria-expanded");
    shown = null;
  }

  function cancel(link) {
    if (wanted !== link) return;
    clearTimeout(showTimer);
    wanted = null;
  }

  function want(link, by) {
    clearTimeout(hideTimer);
    if (shown?.link === link || wanted === link || link === dismissed) return;
    clearTimeout(showTimer);
    wanted = link;
    showTimer = setTimeout(() => show(link, by), POPUP_SHOW_MS);
  }

  async function show(link, by) {
    const url = new URL(template.dataset.card, new URL(englishPath(link.pathname), link.href)).href;
    if (!popups.has(url)) popups.set(url, makePopup(template, url, reader).catch(() => null));
    const popup = await popups.get(url);
    if (wanted !== link) return; // left meanwhile
    wanted = null;
    if (!popup) return;
    hide();
    placePopup(popup, link);
    popup.hidden = false;
    const overflow = popup.getBoundingClientRect().right - document.documentElement.clientWidth;
    if (overflow > 0) popup.style.left = `${Math.max(0, link.offsetLeft - overflow - 8)}px`;
    link.setAttribute("aria-expanded", "true");
    shown = { link, popup, by };
  }

  document.addEventListener("pointerover", (event) => {
    if (event.pointerType === "touch") return;
    if (within(event.target)) {
      clearTimeout(hideTimer); // back over the link or the popup
      return;
    }
    const link = profileLinkOf(event.target);
    if (link) want(link, "pointer");
  });
  document.addEventListener("pointerout", (event) => {
    if (event.pointerType === "touch") return;
    const link = profileLinkOf(event.target);
    if (link && !link.contains(event.relatedTarget)) {
      cancel(link);
      if (dismissed === link) dismissed = null;
    }
    if (shown?.by === "pointer" && within(event.target) && !within(event.relatedTarget)) {
      clearTimeout(hideTimer);
      hideTimer = setTimeout(hide, POPUP_HIDE_MS);
    }
  });
  document.addEventListener("focusin", (event) => {
    if (within(event.target)) return;
    const link = profileLinkOf(event.target);
    if (link) want(link, "focus");
  });
  document.addEventListener("focusout", (event) => {
    const link = profileLinkOf(event.target);
    if (link && !link.contains(event.relatedTarget) && !within(event.relatedTarget)) {
      cancel(link);
      if (dismissed === link) dismissed = null;
    }
    if (shown?.by === "focus" && within(event.target) && !within(event.relatedTarget)) hide();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !(shown || wanted)) return;
    const link = shown?.link || wanted;
    const hadFocus = within(document.activeElement);
    cancel(wanted);
    dismissed = link;
    hide();
    if (hadFocus) link.focus();
  });
}

// ------------------------------------------------------------------ search

// Full-text search with no server: the site build writes a sharded inverted
// index under /search/ (functions/sitegen/search.py). A query word is folded
// as the build folds words (functions/sitegen/terms.py: the twin of these
// two functions), its lexicon shard gives its stem keys, their postings
// shards give explore numbers, and each result is the post's own article on
// the explore archive page that holds its number. Several words: posts with
// all of them (AND); newest first.

/** Case and accents ignored, as terms.fold. */
export function searchFold(text) {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\u00df|\u1e9e/g, "ss")
    .replace(/\u03c2/g, "\u03c3")
    .normalize("NFD")
    .replace(/\p{Mn}/gu, "")
    .normalize("NFC");
}

/** The distinct folded words of a query, as terms.words. */
export function searchWords(text) {
  const found = searchFold(text).match(/[\p{L}\p{N}]+/gu) || [];
  return [...new Set(found.filter((word) => word.length <= 40))];
}

/** The shard of a word or key: the first four bytes of its SHA-256, as terms.shard_of. */
async function searchShard(text, count) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return new DataView(digest).getUint32(0) % count;
}

const searchFiles = new Map();

/** An index shard's JSON ({} when there is none: no post has its words). */
function searchFile(url) {
  if (!searchFiles.has(url)) {
    const load = fetch(url, { credentials: "same-origin" }).then((response) => {
      if (response.status === 404) return {};
      if (!response.ok) {
        throw new Error(t("Could not load the search index (%(status)s).", { status: response.status }));
      }
      return response.json();
    });
    searchFiles.set(url, load);
  }
  return searchFiles.get(url);
}

/** The explore numbers of the posts a folded word is in (any of its keys). */
async function searchWordPosts(word, index) {
  const shard = await searchShard(word, index.lexiconShards);
  const lexicon = await searchFile(`${index.lexicon}${shard}.json`);
  const keys = lexicon[word] || [];
  const shards = await Promise.all(
    keys.map(async (key) => {
      const at = await searchShard(key, index.postingsShards);
      return searchFile(`${index.postings}${at}.json`);
    }),
  );
  const numbers = new Set();
  keys.forEach((key, k) => {
    let number = 0;
    for (const [i, gap] of (shards[k][key]?.n || []).entries()) {
      number = i === 0 ? gap : number - gap;
      numbers.add(number);
    }
  });
  return numbers;
}

/** The explore numbers of the posts with every word, newest first. */
async function searchPosts(words, index) {
  const sets = await Promise.all(words.map((word) => searchWordPosts(word, index)));
  sets.sort((a, b) => a.size - b.size);
  const [smallest = new Set(), ...others] = sets;
  return [...smallest].filter((n) => others.every((set) => set.has(n))).sort((a, b) => b - a);
}

/** The articles of these posts, taken from the explore pages that hold them. */
async function searchArticles(numbers, index) {
  const perPage = index.postsPerPage;
  const pages = [...new Set(numbers.map((n) => Math.floor((n - 1) / perPage) + 1))];
  const documents = new Map(
    await Promise.all(
      pages.map(async (page) => {
        const url = `${index.explorePages}${page}/`;
        const response = await fetch(url, { credentials: "same-origin" });
        const html = response.ok ? await response.text() : "";
        return [page, new DOMParser().parseFromString(html, "text/html")];
      }),
    ),
  );
  const pageOf = (n) => documents.get(Math.floor((n - 1) / perPage) + 1);
  return numbers
    .map((n) => $(`article.post[data-explore="${n}"]`, pageOf(n)))
    .filter(Boolean)
    .map((article) => document.importNode(article, true));
}

async function searchPage(section) {
  const params = new URLSearchParams(window.location.search);
  const query = params.get("q") || "";
  const page = Math.max(1, Number.parseInt(params.get("page"), 10) || 1);
  const box = $(".nav-search input[name=q]");
  if (box) box.value = query;
  const index = {
    lexicon: section.dataset.lexicon,
    lexiconShards: Number(section.dataset.lexiconShards),
    postings: section.dataset.postings,
    postingsShards: Number(section.dataset.postingsShards),
    explorePages: section.dataset.explorePages,
    postsPerPage: Number(section.dataset.postsPerPage),
  };
  const results = $("#search-results", section);
  const words = searchWords(query);
  if (!words.length) {
    results.replaceChildren(fromTemplate("search-none"));
    return;
  }
  results.setAttribute("aria-busy", "true");
  const numbers = await searchPosts(words, index);
  const start = (page - 1) * index.postsPerPage;
  const shown = await searchArticles(numbers.slice(start, start + index.postsPerPage), index);
  if (shown.length) results.replaceChildren(...shown);
  else results.replaceChildren(fromTemplate("search-empty"));
  results.removeAttribute("aria-busy");
  enhance(results);
  const link = (at) => `${window.location.pathname}?${new URLSearchParams({ q: query, page: at })}`;
  const newer = $(".pager .newer", section);
  const older = $(".pager .older", section);
  newer.hidden = page <= 1;
  newer.href = link(page - 1);
  older.hidden = start + index.postsPerPage >= numbers.length;
  older.href = link(page + 1);
  $(".pager", section).hidden = newer.hidden && older.hidden;
  section.dataset.results = String(numbers.length);
}

// ------------------------------------------------------------------ start

async function main() {
  await initLanguage();
  watchAvatars();
  showPendingFlashes();
  enhance();
  setInterval(() => localizeTimes(), 60_000);
  const user = await me;
  renderNav(user);
  canTranslate = Boolean(user?.can_translate);
  if (canTranslate) addTranslateLinks();
  userPopups(user);
  await messages(user);
  const pages = [
    ["#home[data-app=home]", homePage],
    ["#login-form", loginPage],
    ["#register-form", registerPage],
    ["#reset-request-form", resetPasswordPage],
    ["#edit-profile-form", editProfilePage],
    [".profile[data-user-id]", profilePage],
    ["#search[data-app=search]", searchPage],
  ];
  for (const [selector, page] of pages) {
    const element = $(selector);
    if (!element) continue;
    try {
      await page(element, user);
    } catch (error) {
      const message = error instanceof ApiError ? error.message : t("Something went wrong.");
      flash(message, "error");
      console.error(error);
    }
  }
  exportPosts(user).catch((error) => flash(error.message, "error"));
  document.documentElement.dataset.ready = "yes";
}

main();
