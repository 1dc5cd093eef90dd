/* LTI Gateway owner console: a plain single-page app over the gateway's own HTTP API (docs/api.md).
 *
 * - No business logic: every page calls the same /api/* routes as any API client, authenticated by
 *   the console session cookie; every non-GET call carries X-CSRF-Token from the session JSON.
 * - Everything shown is put into the DOM with textContent / createElement (never innerHTML), so no
 *   text from the API can become markup. No inline script or style (CSP script-src/style-src 'self').
 * - Hash routes: #/org #/keys #/platforms #/classes #/classes/<id> #/export #/api-keys #/launch-errors
 */
(function () {
  "use strict";

  var session = null; // the JSON of /console/session: org_id, org_name, role, credential_id, class_id, csrf_token, expires_at
  var renderToken = 0; // bumps on every navigation; a page drawn for an older route stops drawing

  // ---- small DOM helpers ------------------------------------------------------------------------

  var uid = 0;
  function nextId(prefix) {
    uid += 1;
    return prefix + "-" + uid;
  }

  /* el("p", {className: "x", for: "id"}, "text", child, ...): attributes via properties or
   * setAttribute; children are nodes or strings (strings become text nodes). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "className") node.className = value;
        else if (name === "text") node.textContent = value;
        else if (name.slice(0, 2) === "on" && typeof value === "function") node.addEventListener(name.slice(2), value);
        else if (value === true) node.setAttribute(name, "");
        else node.setAttribute(name, String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(node, c); });
    } else if (typeof child === "string" || typeof child === "number") {
      node.appendChild(document.createTextNode(String(child)));
    } else {
      node.appendChild(child);
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function announce(message) {
    var region = document.getElementById("announcer");
    region.textContent = "";
    // a fresh text node after a tick makes screen readers announce the same message twice in a row
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  /* A moment as a person reads it: date, time and time zone in the browser's locale
   * ("4 Dec 2026, 18:40 UTC"); the exact ISO value stays in datetime and the tooltip. */
  function localTime(value) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    try {
      return d.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", timeZoneName: "short",
      });
    } catch (e) {
      return d.toString();
    }
  }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return el("time", { datetime: iso, title: iso }, localTime(d));
  }

  /* A labelled form field. kind: "text" | "url" | "password" | "textarea" | "checkbox" | "select" | "number".
   * Returns {wrap, input}. */
  function field(label, kind, opts) {
    opts = opts || {};
    var id = nextId("f");
    var hintId = opts.hint ? id + "-hint" : null;
    var input;
    if (kind === "textarea") {
      input = el("textarea", { id: id, name: opts.name, rows: opts.rows || 3 });
      input.value = opts.value || "";
    } else if (kind === "select") {
      input = el("select", { id: id, name: opts.name });
      (opts.options || []).forEach(function (o) {
        var option = el("option", { value: o.value }, o.label);
        if (o.value === opts.value) option.selected = true;
        input.appendChild(option);
      });
    } else {
      input = el("input", {
        id: id,
        name: opts.name,
        type: kind,
        autocomplete: opts.autocomplete || "off",
        spellcheck: kind === "checkbox" ? null : "false",
        inputmode: opts.inputmode,
        min: opts.min,
        max: opts.max,
        placeholder: opts.placeholder,
      });
      if (kind === "checkbox") input.checked = !!opts.checked;
      else if (opts.value !== undefined && opts.value !== null) input.value = String(opts.value);
    }
    if (opts.required) input.required = true;
    if (opts.readOnly) input.disabled = true;
    if (hintId) input.setAttribute("aria-describedby", hintId);
    var labelNode = el("label", { for: id }, label);
    var hint = hintId ? el("p", { id: hintId, className: "hint" }, opts.hint) : null;
    var wrap = kind === "checkbox"
      ? el("div", { className: "field checkbox" }, input, labelNode, hint)
      : el("div", { className: "field" }, labelNode, hint, input);
    return { wrap: wrap, input: input };
  }

  /* A message area for a form: errors as text (role=alert), successes as status. */
  function messageArea() {
    var node = el("div", { className: "message", hidden: true });
    return {
      node: node,
      error: function (err) {
        clear(node);
        node.hidden = false;
        node.className = "message error";
        node.setAttribute("role", "alert");
        append(node, describeError(err));
      },
      ok: function (text) {
        clear(node);
        node.hidden = false;
        node.className = "message ok";
        node.setAttribute("role", "status");
        append(node, text);
      },
      hide: function () {
        clear(node);
        node.hidden = true;
      },
    };
  }

  function button(label, onclick, opts) {
    opts = opts || {};
    return el("button", {
      type: opts.type || "button",
      className: opts.className,
      "aria-label": opts.ariaLabel,
      onclick: onclick,
    }, label);
  }

  /* Text with a copy button. The value is shown as text on the page (a <code> block) so it can be
   * read and selected; the button copies it, or selects it when the clipboard is not available. */
  function copyable(label, value, opts) {
    opts = opts || {};
    var labelId = nextId("c");
    var code = el("code", { className: "copy-value", id: labelId + "-value" }, value || "");
    // What happened, next to the button for sighted users (screen readers hear it from #announcer).
    var done = el("span", { className: "copy-done", "aria-hidden": "true" });
    var copyBtn = button("Copy", function () { copyText(value, code, opts.what || label, done); }, {
      ariaLabel: "Copy " + (opts.what || label),
      className: "copy",
    });
    return el("div", { className: "copyable" },
      el("p", { className: "copy-label", id: labelId }, label),
      el("div", { className: "copy-row" }, code, copyBtn, done));
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  /* Shows "Copied" (or what to do instead) beside the button for a few seconds. */
  function showCopyResult(done, text, failed) {
    if (!done) return;
    window.clearTimeout(done.copyTimer);
    done.textContent = text;
    done.className = "copy-done" + (failed ? " copy-failed" : " copy-ok");
    done.copyTimer = window.setTimeout(function () {
      done.textContent = "";
      done.className = "copy-done";
    }, failed ? 10000 : 4000);
  }

  function copyText(value, node, what, done) {
    function fallback() {
      selectText(node);
      announce("Could not copy automatically: the " + what + " is selected, press Ctrl+C (or Cmd+C) to copy it.");
      showCopyResult(done, "Not copied: the text is selected, press Ctrl+C (or Cmd+C).", true);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(value).then(function () {
        announce("Copied");
        showCopyResult(done, "✓ Copied", false);
      }, fallback);
    } else {
      fallback();
    }
  }

  // ---- the HTTP API ------------------------------------------------------------------------------

  function ApiError(status, code, details) {
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /* fetch a JSON route. Non-GET calls carry the CSRF token and a JSON body. Resolves with the parsed
   * JSON (null for an empty answer); rejects with ApiError. A session that ended sends the user back
   * to the sign-in form. */
  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    var init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (method !== "GET" && method !== "HEAD") {
      if (session && session.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        if (text) {
          try {
            data = JSON.parse(text);
          } catch (e) {
            data = null;
          }
        }
        if (response.ok) return data;
        var code = data && data.error ? data.error : "http_" + response.status;
        var details = data && data.details !== undefined ? data.details : (data ? null : text.slice(0, 200));
        var err = new ApiError(response.status, code, details);
        if (response.status === 401 && path.indexOf("/api/") === 0) sessionEnded(err);
        throw err;
      });
    }, function (networkError) {
      throw new ApiError(0, "network_error", "The gateway could not be reached (" + networkError.message + "). Check your connection and try again.");
    });
  }

  function enc(value) {
    return encodeURIComponent(value);
  }

  /* An error as text nodes: a sentence saying what happened first, then the API's details (field by
   * field), a hint when there is one, and last the code for developers and support:
   *   "That API key was not accepted." / Details: invalid API key / Error code: invalid_api_key (HTTP 401)
   * Client-side checks (no code) read "Please check: …". */
  function describeError(err) {
    if (!(err instanceof ApiError)) return "Something went wrong in the console: " + String(err && err.message || err);
    var lines = detailLines(err.details, "");
    if (!err.code) {
      return [el("strong", null, "Please check"), lines.length ? ": " + lines.join(" ") : "."];
    }
    var nodes = [el("strong", null, errorSentence(err))];
    if (lines.length === 1 && lines[0].indexOf(": ") === -1) {
      nodes.push(el("p", null, "Details: " + lines[0]));
    } else if (lines.length) {
      nodes.push(el("ul", null, lines.map(function (line) { return el("li", null, line); })));
    }
    var hint = ERROR_HINTS[err.code];
    if (hint) nodes.push(el("p", null, hint));
    nodes.push(el("p", { className: "error-code" },
      "Error code: " + err.code + (err.status ? " (HTTP " + err.status + ")" : "")));
    return nodes;
  }

  function errorSentence(err) {
    if (ERROR_SENTENCES[err.code]) return ERROR_SENTENCES[err.code];
    var status = err.status;
    if (status === 400 || status === 422) return "The gateway did not accept this request.";
    if (status === 401) return "You are not signed in, or the key or link you used is not valid.";
    if (status === 403) return "You are not allowed to do this.";
    if (status === 404) return "This was not found: it may have been removed, or it belongs to another organisation.";
    if (status === 409) return "This clashes with what is already stored.";
    if (status === 413) return "This is too large for the gateway.";
    if (status === 429) return "Too many requests at once.";
    if (status >= 500) return "The gateway had a problem and could not do this.";
    return "The gateway answered with an error.";
  }

  var ERROR_SENTENCES = {
    invalid_api_key: "That API key was not accepted.",
    missing_credentials: "Enter an API key to sign in.",
    link_invalid: "The gateway did not accept the sign-in link.",
    no_session: "You are not signed in.",
    session_expired: "Your session has ended. Sign in again.",
    api_key_revoked: "That API key has been revoked: it can no longer sign in or call the API. Use another key.",
    validation_failed: "Some values were not accepted.",
    invalid_json: "The gateway could not read the request.",
    nothing_to_update: "Nothing was changed.",
    owner_role_required: "Only an organisation owner may do this.",
    class_scope: "This sign-in only opens one class.",
    csrf_token_invalid: "The page is out of date.",
    csrf_token_missing: "The page is out of date.",
    cross_origin_request: "The request did not come from the console's own page.",
    concurrent_change: "Someone else changed this at the same time.",
    throttled: "Too many requests at once.",
    service_unavailable: "The gateway's storage is busy.",
    kms_unavailable: "The gateway's key service is unavailable.",
    class_lms_url_unknown_origin: "No launch has come from that LMS site yet.",
    invalid_class_lms_url: "That Class LMS URL is not a valid web address.",
    app_origin_not_allowed: "That app URL is not allowed for this organisation.",
    last_owner: "This is the organisation's last owner key.",
    cannot_revoke_self: "You cannot revoke the key you are signed in with.",
    launch_error_not_found: "No launch error has that reference.",
    export_too_large: "This export is too large to show here.",
    network_error: "The gateway could not be reached.",
    internal_error: "The gateway had a problem and could not do this.",
  };

  /* The API names fields as its JSON does; the forms label them for people. */
  var FIELD_LABELS = {
    url: "Issuer (platform id)",
    clientId: "Client ID",
    deploymentIds: "Deployment IDs",
    authenticationEndpoint: "Authentication request URL",
    accesstokenEndpoint: "Access token URL",
    authConfig: "Platform keyset URL (JWKS)",
    "authConfig.key": "Platform keyset URL (JWKS)",
    authorizationServer: "Token audience",
    class_lms_url: "Class LMS URL",
    app_launch_url: "App launch URL",
    tool_name: "Tool name",
    tool_description: "Tool description",
    tool_icon_url: "Tool icon URL",
  };

  function fieldName(key) {
    return FIELD_LABELS[key] ? FIELD_LABELS[key] + " (" + key + ")" : key;
  }

  function detailLines(details, prefix) {
    if (details === null || details === undefined || details === "") return [];
    if (typeof details !== "object") return [(prefix ? fieldName(prefix) + ": " : "") + String(details)];
    if (Array.isArray(details) && !prefix) {
      return details.map(function (d) { return typeof d === "object" ? JSON.stringify(d) : String(d); });
    }
    if (Array.isArray(details)) {
      return [(prefix ? fieldName(prefix) + ": " : "") + details.map(function (d) {
        return typeof d === "object" ? JSON.stringify(d) : String(d);
      }).join(", ")];
    }
    var lines = [];
    Object.keys(details).forEach(function (key) {
      lines = lines.concat(detailLines(details[key], prefix ? prefix + "." + key : key));
    });
    return lines;
  }

  /* What to do next, shown under the sentence of ERROR_SENTENCES. */
  var ERROR_HINTS = {
    invalid_api_key: "Paste the whole key as it was shown when it was created: the credential id, a dot, then the secret.",
    owner_role_required: "Ask an owner, or sign in with an owner API key.",
    csrf_token_invalid: "Its security token no longer matches your session. Reload the page and try again.",
    csrf_token_missing: "Its security token is missing. Reload the page and try again.",
    concurrent_change: "Reload the page to see the latest values, then try again.",
    throttled: "Wait a moment and try again.",
    service_unavailable: "Try again in a moment; nothing was half-written.",
    kms_unavailable: "Try again in a moment.",
    class_lms_url_unknown_origin: "Launch the class from that LMS once, or (owners) tick the confirmation box to accept this site.",
    app_origin_not_allowed: "An owner can allow its origin on the Organisation page (App origins).",
    last_owner: "An organisation always keeps one active owner key. Create another owner key first.",
    cannot_revoke_self: "Sign in with another owner key to revoke this one.",
    launch_error_not_found: "Paste the reference exactly as the LMS showed it. References are kept for a limited time.",
    network_error: "Check your connection and try again.",
    internal_error: "This is a bug in the gateway: please report it with the error code and details shown here.",
  };

  // ---- session -----------------------------------------------------------------------------------

  function sessionEnded(err) {
    if (!session) return;
    session = null;
    showSignIn(err);
  }

  function start() {
    document.getElementById("sign-out").addEventListener("click", signOut);
    window.addEventListener("hashchange", function () {
      if (!useLink()) route();
    });
    if (useLink()) return;
    api("GET", "/console/session").then(signedIn, function (err) {
      if (err.status === 401) showSignIn(null);
      else showSignIn(err);
    });
  }

  /* A one-time sign-in link (#link=<token>, also pasted into a tab already showing the console):
   * the token is dropped from the address bar and history at once, then exchanged for a session. */
  function useLink() {
    var hash = window.location.hash || "";
    if (hash.indexOf("#link=") !== 0) return false;
    var token = hash.slice("#link=".length);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    var previousOrg = session ? session.org_id : null;
    session = null;
    renderToken += 1;
    var link;
    try {
      link = decodeURIComponent(token);
    } catch (e) {
      showSignIn(null, "This sign-in link is damaged. Ask for a new link, or sign in with an API key.");
      return true;
    }
    api("POST", "/console/session", { link: link }).then(function (data) {
      signedIn(data);
      if (previousOrg && previousOrg !== data.org_id) {
        // Anyone can send a link: say plainly that this tab now works for another organisation.
        announce("You are now signed in to " + data.org_name + ", another organisation than before.");
      }
    }, function (err) {
      showSignIn(err, "This sign-in link could not be used: a link works once, within 5 minutes. Ask for a new link, or sign in with an API key.");
    });
    return true;
  }

  function signedIn(data) {
    session = data;
    var who = document.getElementById("who");
    who.textContent = data.org_name + " · " + roleName(data.role) + (data.class_id ? " (one class)" : "");
    who.hidden = false;
    document.getElementById("sign-out").hidden = false;
    drawNav();
    var hash = window.location.hash;
    if (!hash || hash === "#" || hash === "#/" || hash.indexOf("#/") !== 0) {
      history.replaceState(null, "", window.location.pathname + window.location.search + homeRoute());
    }
    route();
  }

  function roleName(role) {
    return { owner: "Owner", member: "Member", instructor: "Instructor" }[role] || role;
  }

  function homeRoute() {
    if (session.role === "instructor" && session.class_id) return "#/classes/" + session.class_id;
    return "#/classes";
  }

  function signOut() {
    api("DELETE", "/console/session").then(function () {
      session = null;
      history.replaceState(null, "", window.location.pathname);
      showSignIn(null, "You are signed out.");
    }, function (err) {
      var main = document.getElementById("main");
      var msg = messageArea();
      main.insertBefore(msg.node, main.firstChild);
      msg.error(err);
    });
  }

  function showSignIn(err, note) {
    session = null;
    renderToken += 1;
    document.getElementById("who").hidden = true;
    document.getElementById("sign-out").hidden = true;
    var nav = document.getElementById("nav");
    clear(nav);
    nav.hidden = true;
    var main = document.getElementById("main");
    clear(main);
    document.title = "Sign in · LTI Gateway console";
    var key = field("API key", "password", {
      name: "api_key",
      autocomplete: "off",
      required: true,
      hint: "An owner or member API key of your organisation (credential id, a dot, then the secret), as printed once when it was created.",
    });
    var msg = messageArea();
    var form = el("form", { className: "panel", novalidate: true },
      key.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Sign in")),
      msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var stale = document.getElementById("sign-in-note");
      if (stale) stale.remove();  // "You are signed out." no longer describes what happens next
      var earlier = document.getElementById("sign-in-error");
      if (earlier) earlier.remove();  // nor does the error of an earlier link or session
      var value = key.input.value.trim();
      if (!value) {
        msg.error(new ApiError(0, null, "Enter your API key."));
        key.input.focus();
        return;
      }
      api("POST", "/console/session", { api_key: value }).then(function (data) {
        key.input.value = "";
        signedIn(data);
      }, function (e) {
        msg.error(e);
        key.input.focus();
      });
    });
    append(main, [
      el("h1", { tabindex: "-1" }, "Sign in"),
      el("p", { className: "intro" }, "Sign in to manage your organisation's LTI settings: consumer keys, LMS platforms, classes and the launch URLs to paste into your LMS."),
      note ? el("p", { className: "message info", role: "status", id: "sign-in-note" }, note) : null,
      err ? (function () { var m = messageArea(); m.error(err); m.node.id = "sign-in-error"; return m.node; })() : null,
      form,
    ]);
    key.input.focus();
  }

  // ---- navigation and routing --------------------------------------------------------------------

  var PAGES = [
    { hash: "#/org", label: "Organisation", roles: ["owner", "member"], render: pageOrg },
    { hash: "#/classes", label: "Classes", roles: ["owner", "member"], render: pageClasses },
    { hash: "#/export", label: "Export LTI settings", roles: ["owner", "member"], render: pageExport },
    { hash: "#/keys", label: "LTI 1.1 keys", roles: ["owner"], render: pageKeys },
    { hash: "#/platforms", label: "LTI 1.3 platforms", roles: ["owner"], render: pagePlatforms },
    { hash: "#/api-keys", label: "API keys", roles: ["owner"], render: pageApiKeys },
    { hash: "#/launch-errors", label: "Launch errors", roles: ["owner"], render: pageLaunchErrors },
  ];

  function drawNav() {
    var nav = document.getElementById("nav");
    clear(nav);
    var list = el("ul");
    if (session.role === "instructor" && session.class_id) {
      list.appendChild(el("li", null, el("a", { href: "#/classes/" + session.class_id }, "Your class")));
    } else {
      PAGES.forEach(function (page) {
        if (page.roles.indexOf(session.role) === -1) return;
        list.appendChild(el("li", null, el("a", { href: page.hash }, page.label)));
      });
    }
    nav.appendChild(list);
    nav.hidden = false;
  }

  function markCurrent(hash) {
    var links = document.querySelectorAll("#nav a");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href");
      var current = hash === href || (href === "#/classes" && hash.indexOf("#/classes/") === 0);
      if (current) links[i].setAttribute("aria-current", "page");
      else links[i].removeAttribute("aria-current");
    }
  }

  function route() {
    if (!session) return;
    var hash = window.location.hash || homeRoute();
    var main = document.getElementById("main");
    renderToken += 1;
    var token = renderToken;
    clear(main);
    markCurrent(hash);
    var classMatch = /^#\/classes\/(cls_[0-9a-f]{16})$/.exec(hash);
    var page = null;
    var render = null;
    if (classMatch) {
      render = function (m, t) { return pageClass(m, t, classMatch[1]); };
      page = { roles: ["owner", "member", "instructor"] };
      if (session.role === "instructor" && session.class_id !== classMatch[1]) page = { roles: [] };
    } else {
      PAGES.forEach(function (p) { if (p.hash === hash) page = p; });
      if (page) render = page.render;
    }
    if (session.role === "instructor" && !classMatch) {
      page = { roles: [] };
    }
    if (!page) {
      pageNotFound(main);
    } else if (page.roles.indexOf(session.role) === -1) {
      pageNotAllowed(main);
    } else {
      render(main, token);
    }
    var heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      document.title = heading.textContent + " · LTI Gateway console";
      if (routedOnce) heading.focus();
    }
    routedOnce = true;
  }
  var routedOnce = false;

  function stale(token) {
    return token !== renderToken;
  }

  function pageHeader(main, title, intro) {
    append(main, [el("h1", { tabindex: "-1" }, title), el("p", { className: "intro" }, intro)]);
  }

  function pageNotFound(main) {
    pageHeader(main, "Page not found", "There is no console page at this address.");
    main.appendChild(el("p", null, el("a", { href: homeRoute() }, "Go to the start page")));
  }

  function pageNotAllowed(main) {
    var text = session.role === "instructor"
      ? "Your sign-in link opens only your class's page."
      : "This page is for organisation owners. Your API key has the role \u201c" + session.role + "\u201d.";
    pageHeader(main, "Not available", text);
    main.appendChild(el("p", null, el("a", { href: homeRoute() }, "Go to the start page")));
  }

  /* A section appended to main: <section aria-labelledby><h2>…</h2> intro …</section> */
  function section(parent, title, intro) {
    var id = nextId("s");
    var node = el("section", { "aria-labelledby": id, className: "panel" },
      el("h2", { id: id }, title),
      intro ? el("p", { className: "section-intro" }, intro) : null);
    parent.appendChild(node);
    return node;
  }

  /* "Loading…" in `parent` until the answer comes: the caller removes it (.remove()). */
  function loadingNote(parent) {
    var note = el("p", { className: "loading", role: "status" }, "Loading\u2026");
    parent.appendChild(note);
    return note;
  }

  /* Loads a failing page's error into its own area. */
  function loadError(parent, err) {
    var msg = messageArea();
    parent.appendChild(msg.node);
    msg.error(err);
  }

  /* Definition list of [term, value] pairs; a value may be a node or text. */
  function facts(pairs) {
    var dl = el("dl", { className: "facts" });
    pairs.forEach(function (pair) {
      if (!pair) return;
      dl.appendChild(el("div", { className: "fact" }, el("dt", null, pair[0]), el("dd", null, pair[1] === null || pair[1] === undefined || pair[1] === "" ? "—" : pair[1])));
    });
    return dl;
  }

  /* Inline confirmation: replaces `container`'s content with a question and two buttons. */
  function confirmInline(container, question, yesLabel, onYes) {
    var box = el("div", { className: "confirm", role: "group", "aria-label": "Confirm" });
    var msg = messageArea();
    var yes = button(yesLabel, function () {
      yes.disabled = true;
      onYes().then(null, function (err) { yes.disabled = false; msg.error(err); });
    }, { className: "danger" });
    var no = button("Cancel", function () { box.remove(); });
    append(box, [el("p", null, question), el("div", { className: "actions" }, yes, no), msg.node]);
    container.appendChild(box);
    yes.focus();
    return box;
  }

  /* A "shown once" panel for a secret or API key. */
  function shownOnce(parent, title, rows, warning) {
    var id = nextId("once");
    var box = el("div", { className: "once", role: "region", "aria-labelledby": id, tabindex: "-1" },
      el("h3", { id: id }, title),
      el("p", { className: "warning" }, el("strong", null, "You will not see this again. "), warning || "Copy it now and keep it somewhere safe, such as your LMS settings or a password manager."));
    rows.forEach(function (r) { box.appendChild(copyable(r[0], r[1], { what: r[2] || r[0] })); });
    box.appendChild(el("div", { className: "actions" }, button("I have copied it, hide it", function () { box.remove(); })));
    parent.insertBefore(box, parent.firstChild);
    box.focus();
    return box;
  }

  /* Lists with a "Load more" button: fetchPage(next) -> promise of {items, next}; drawItem(item) -> node. */
  function pagedList(parent, fetchPage, drawItem, emptyText, label) {
    var list = el("ul", { className: "cards", "aria-label": label });
    var more = button("Load more", function () { load(nextToken, false); }, { className: "secondary" });
    more.hidden = true;
    var msg = messageArea();
    var nextToken = null;
    var seq = 0; // a reload started later wins over an earlier one still on its way
    var empty = el("p", { hidden: true }, emptyText);
    var loading = el("p", { className: "loading", role: "status", hidden: true }, "Loading\u2026");
    append(parent, [loading, empty, list, more, msg.node]);
    function load(token, replace) {
      seq += 1;
      var mine = seq;
      more.disabled = true;
      loading.hidden = list.children.length > 0;  // the first load of a list; later ones keep what is shown
      return fetchPage(token).then(function (page) {
        if (mine !== seq) return;
        loading.hidden = true;
        msg.hide();
        if (replace) clear(list);
        page.items.forEach(function (item) { list.appendChild(drawItem(item)); });
        nextToken = page.next || null;
        more.hidden = !nextToken;
        more.disabled = false;
        empty.hidden = list.children.length > 0;
      }, function (err) {
        if (mine !== seq) return;
        loading.hidden = true;
        more.disabled = false;
        msg.error(err);
      });
    }
    return { reload: function () { return load(null, true); }, list: list };
  }

  function withNext(path, next) {
    return next ? path + (path.indexOf("?") === -1 ? "?" : "&") + "next=" + enc(next) : path;
  }

  /* Every page of a listing (for small lists: units of a class, classes for exports), up to 50 pages. */
  function loadAll(path, key) {
    var items = [];
    function step(next, pages) {
      return api("GET", withNext(path, next)).then(function (data) {
        items = items.concat(data[key] || []);
        if (data.next && pages < 50) return step(data.next, pages + 1);
        return items;
      });
    }
    return step(null, 1);
  }

  function focusHeading(node) {
    var h = node.querySelector("h1, h2, h3, h4, h5");
    if (!h) return;
    h.setAttribute("tabindex", "-1");
    h.focus();
  }

  function statusBadge(text, kind) {
    return el("span", { className: "badge " + (kind || text) }, text);
  }

  function nullIfBlank(value) {
    var v = value.trim();
    return v === "" ? null : v;
  }

  // ---- Organisation ------------------------------------------------------------------------------

  function pageOrg(main, token) {
    pageHeader(main, "Organisation", "Your organisation's name, where launches are handed to your app, and how this tool presents itself to your LMSs.");
    api("GET", "/api/org").then(function (org) {
      if (stale(token)) return;
      var owner = session.role === "owner";
      main.appendChild(facts([["Organisation name", org.name], ["Organisation id", org.org_id], ["Created", when(org.created_at)], ["Signed in with API key", org.credential ? org.credential.credential_id + " (" + org.credential.role + ")" : ""]]));
      if (!owner) {
        var s = section(main, "Launch and tool settings", "Only an organisation owner can change these settings.");
        s.appendChild(facts([
          ["App launch URL", org.app_launch_url],
          ["App origins", (org.app_origins || []).join(", ")],
          ["Tool name", org.tool_name || "(the stack's default)"],
          ["Tool description", org.tool_description || "(the stack's default)"],
          ["Tool icon URL", org.tool_icon_url || "(the stack's default)"],
        ]));
        s.appendChild(el("p", null, "A class or unit can use its own app launch URL: it is set on the class's page."));
        return;
      }
      var launch = section(main, "Where launches go", "After a launch is verified, the learner's browser is sent to your app launch URL with ?ltik=…. A class or a unit can override it: set those on the class's page (Classes).");
      var appUrl = field("App launch URL", "url", { value: org.app_launch_url, hint: "https:// (http only for localhost). Leave empty to remove it. Saving a URL also allows its origin." });
      var origins = field("App origins (one per line)", "textarea", {
        value: (org.app_origins || []).join("\n"),
        rows: 4,
        hint: "The origins (https://host[:port]) your app launch URLs may use, up to 50. Removing an origin refuses launches to it.",
      });
      append(launch, [appUrl.wrap, origins.wrap]);
      var tool = section(main, "How LMSs show this tool", "The name, description and icon LMSs show for this tool. LMSs copy them when the tool is registered or imported: register or import again for a change to show. Leave a field empty to use the stack's default.");
      var name = field("Tool name", "text", { value: org.tool_name, hint: "1–100 characters, one line." });
      var desc = field("Tool description", "textarea", { value: org.tool_description, hint: "Up to 1000 characters." });
      var icon = field("Tool icon URL", "url", { value: org.tool_icon_url, hint: "An https URL on a public host." });
      append(tool, [name.wrap, desc.wrap, icon.wrap]);
      var msg = messageArea();
      var form = el("form", { novalidate: true }, launch, tool,
        el("div", { className: "actions" }, el("button", { type: "submit" }, "Save organisation settings")), msg.node);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {};
        function changed(key, value) {
          if (value !== (org[key] === undefined ? null : org[key])) body[key] = value;
        }
        changed("app_launch_url", nullIfBlank(appUrl.input.value));
        changed("tool_name", nullIfBlank(name.input.value));
        changed("tool_description", nullIfBlank(desc.input.value));
        changed("tool_icon_url", nullIfBlank(icon.input.value));
        var list = origins.input.value.split(/[\s,]+/).filter(function (o) { return o !== ""; });
        if (list.join("\n") !== (org.app_origins || []).join("\n")) body.app_origins = list;
        if (!Object.keys(body).length) {
          msg.ok("Nothing changed.");
          return;
        }
        api("PATCH", "/api/org", body).then(function (updated) {
          org = updated;
          appUrl.input.value = updated.app_launch_url || "";
          origins.input.value = (updated.app_origins || []).join("\n");
          msg.ok("Saved. (" + Object.keys(body).join(", ") + ")");
        }, msg.error);
      });
      main.appendChild(form);
    }, function (err) { if (!stale(token)) loadError(main, err); });
  }

  // ---- LTI 1.1 consumer keys ---------------------------------------------------------------------

  var KEY_PATTERN = /^[a-z0-9!#%&,\-_/^$*+.|]{16,255}$/;

  function checkKeyValue(name, value) {
    if (value.length < 16 || value.length > 255) return name + ": must be between 16 and 255 characters long (it has " + value.length + ")";
    if (!KEY_PATTERN.test(value)) return name + ": may only contain a-z 0-9 ! # % & , - _ / ^ $ * + . | (no capitals or spaces)";
    return null;
  }

  function pageKeys(main, token) {
    pageHeader(main, "LTI 1.1 keys", "An LMS uses a consumer key and secret to sign LTI 1.1 launches into your classes. Create one key per LMS; paste the key, the secret and a class or unit launch URL into the LMS.");
    var onceArea = el("div");
    main.appendChild(onceArea);

    // create
    var create = section(main, "Create a key", null);
    var label = field("Label (optional)", "text", { hint: "Your name for the key, e.g. the LMS it is for. Unique in your organisation." });
    var genId = nextId("g");
    var modeGen = el("input", { type: "radio", name: "key-mode", id: genId, value: "generate", checked: true });
    var ownId = nextId("g");
    var modeOwn = el("input", { type: "radio", name: "key-mode", id: ownId, value: "own" });
    var mode = el("fieldset", { className: "field" },
      el("legend", null, "Key and secret"),
      el("div", { className: "checkbox" }, modeGen, el("label", { for: genId }, "Generate them for me (recommended)")),
      el("div", { className: "checkbox" }, modeOwn, el("label", { for: ownId }, "Use my own key and secret")));
    var keyField = field("Consumer key", "text", { name: "key" });
    var secretField = field("Shared secret", "text", { name: "secret" });
    var rules = el("div", { className: "rules", id: nextId("rules") },
      el("p", null, "Rules for a key and secret you supply:"),
      el("ul", null,
        el("li", null, "each 16 to 255 characters long;"),
        el("li", null, "only lower-case letters a–z, digits 0–9 and ", el("code", null, "! # % & , - _ / ^ $ * + . |"), " (no capitals, no spaces);"),
        el("li", null, "the key and the secret must differ, and the key must not already be used on this gateway.")));
    keyField.input.setAttribute("aria-describedby", rules.id);
    secretField.input.setAttribute("aria-describedby", rules.id);
    var own = el("div", { className: "own-key", hidden: true }, rules, keyField.wrap, secretField.wrap);
    function syncMode() { own.hidden = !modeOwn.checked; }
    modeGen.addEventListener("change", syncMode);
    modeOwn.addEventListener("change", syncMode);
    var msg = messageArea();
    var form = el("form", { novalidate: true }, label.wrap, mode, own,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Create key")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      var l = nullIfBlank(label.input.value);
      if (l) body.label = l;
      if (modeOwn.checked) {
        var k = keyField.input.value;
        var s = secretField.input.value;
        var problems = [checkKeyValue("key", k), checkKeyValue("secret", s)].filter(Boolean);
        if (k && k === s) problems.push("secret: must not be the same as the key");
        if (problems.length) {
          msg.error(new ApiError(0, null, problems));
          return;
        }
        body.key = k;
        body.secret = s;
      }
      api("POST", "/api/keys", body).then(function (created) {
        msg.hide();
        label.input.value = "";
        keyField.input.value = "";
        secretField.input.value = "";
        shownOnce(onceArea, "New key " + (created.label ? "\u201c" + created.label + "\u201d " : "") + "created", [
          ["Consumer key", created.key],
          ["Shared secret", created.secret],
        ]);
        keys.reload();
      }, msg.error);
    });
    create.appendChild(form);

    // list
    var listSection = section(main, "Your keys", "Active keys can launch. Revoked keys stay listed for your records and can never launch again.");
    var keys = pagedList(listSection, function (next) {
      return api("GET", withNext("/api/keys?limit=50", next)).then(function (d) { return { items: d.keys || [], next: d.next }; });
    }, function (k) { return drawKey(k, onceArea, function () { keys.reload(); }); }, "No keys yet.", "LTI 1.1 keys");
    keys.reload();
  }

  function drawKey(k, onceArea, reload) {
    var title = k.label || "(no label)";
    var item = el("li", { className: "card" },
      el("h3", null, title, " ", statusBadge(k.status)),
      facts([
        ["Consumer key", el("code", null, k.key)],
        ["Created", when(k.created_at)],
        k.rotated_at ? ["Secret rotated", when(k.rotated_at)] : null,
        k.previous_secret_valid_until ? ["Previous secret valid until", when(k.previous_secret_valid_until)] : null,
        k.revoked_at ? ["Revoked", when(k.revoked_at)] : null,
      ]));
    if (k.status !== "active") return item;
    var area = el("div");
    var rotate = button("Rotate secret", function () {
      clear(area);
      var grace = field("Grace period (hours)", "number", {
        value: 0, min: 0, max: 168, inputmode: "numeric",
        hint: "How long the old secret keeps working, so you can update the LMS first: 0 (ends at once) to 168 hours (7 days).",
      });
      var msg = messageArea();
      var form = el("form", { className: "inline-form", novalidate: true }, grace.wrap,
        el("div", { className: "actions" }, el("button", { type: "submit" }, "Rotate now"), button("Cancel", function () { clear(area); })), msg.node);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var hours = Number(grace.input.value || 0);
        if (!(hours >= 0 && hours <= 168)) {
          msg.error(new ApiError(0, null, "grace period: a number of hours from 0 to 168"));
          return;
        }
        api("POST", "/api/keys/" + enc(k.key) + "/rotate", { grace_period_seconds: Math.round(hours * 3600) }).then(function (rotated) {
          clear(area);
          shownOnce(onceArea, "New secret for " + (k.label ? "\u201c" + k.label + "\u201d" : k.key), [
            ["Consumer key", rotated.key],
            ["New shared secret", rotated.secret],
          ], rotated.previous_secret_valid_until
            ? "Copy it now and paste it into your LMS. The old secret works until " + localTime(rotated.previous_secret_valid_until) + "."
            : "Copy it now and paste it into your LMS: the old secret no longer works.");
          var view = {};
          Object.keys(rotated).forEach(function (f) { if (f !== "secret") view[f] = rotated[f]; });
          item.replaceWith(drawKey(view, onceArea, reload));
          // focus stays on the "shown once" panel that shownOnce focused
        }, msg.error);
      });
      area.appendChild(form);
      grace.input.focus();
    }, { ariaLabel: "Rotate secret of " + title });
    var revoke = button("Revoke", function () {
      clear(area);
      confirmInline(area, "Revoke key " + k.key + "? Every launch signed with it is refused from the next launch. This cannot be undone.", "Yes, revoke key", function () {
        return api("DELETE", "/api/keys/" + enc(k.key)).then(function (revoked) {
          announce("Key revoked");
          var fresh = drawKey(revoked, onceArea, reload);
          item.replaceWith(fresh);
          focusHeading(fresh);
        });
      });
    }, { className: "danger", ariaLabel: "Revoke " + title });
    append(item, [el("div", { className: "actions" }, rotate, revoke), area]);
    return item;
  }

  // ---- LTI 1.3 platforms -------------------------------------------------------------------------

  function pagePlatforms(main, token) {
    pageHeader(main, "LTI 1.3 platforms", "An LMS that launches with LTI 1.3 is registered here as a platform. Give the LMS administrator this tool's URLs (below), then register the LMS: by a dynamic registration URL, or by hand with the values the LMS shows.");

    var urls = section(main, "This tool's LTI 1.3 URLs", "Paste these into the LMS when you add the tool by hand. A class or unit launch URL also works as a target link URI.");
    var urlsLoading = loadingNote(urls);
    api("GET", "/api/tool-configuration").then(function (cfg) {
      if (stale(token)) return;
      urlsLoading.remove();
      append(urls, [
        copyable("Login URL (OIDC login initiation)", cfg.login_url, { what: "login URL" }),
        copyable("Redirect URL (launch)", (cfg.redirect_uris || [cfg.launch_url])[0], { what: "redirect URL" }),
        copyable("Target link URI (also deep linking)", cfg.target_link_uri, { what: "target link URI" }),
        copyable("Public keyset URL (JWKS)", cfg.jwks_url, { what: "JWKS URL" }),
        el("p", null, "Canvas: ", el("a", { href: "/api/tool-configuration/canvas", download: "canvas-developer-key.json" }, "download the Canvas developer key JSON"), " (Developer Keys > + LTI Key > Paste JSON)."),
      ]);
    }, function (err) { if (!stale(token)) { urlsLoading.remove(); loadError(urls, err); } });

    var dyn = section(main, "Dynamic registration", "The simplest way: create a registration URL and paste it into the LMS (Moodle: Tool URL under \u201cAdd an LTI Advantage tool\u201d; Canvas: Dynamic Registration). The LMS then registers itself here.");
    var days = field("Valid for (days)", "number", { value: 7, min: 1, max: 30, inputmode: "numeric", hint: "1 to 30 days." });
    var reusable = field("Reusable (several LMSs may register with the same URL until it expires)", "checkbox", {});
    var dynMsg = messageArea();
    var dynOut = el("div");
    var dynForm = el("form", { novalidate: true }, days.wrap, reusable.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Create registration URL")), dynMsg.node, dynOut);
    dynForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var d = Number(days.input.value || 7);
      if (!(d >= 1 && d <= 30)) {
        dynMsg.error(new ApiError(0, null, "valid for: 1 to 30 days"));
        return;
      }
      api("POST", "/api/platforms/registration-url", { expires_in_seconds: Math.round(d * 86400), reusable: reusable.input.checked }).then(function (r) {
        dynMsg.hide();
        clear(dynOut);
        shownOnce(dynOut, "Registration URL created", [["Registration URL", r.registration_url]],
          "Copy it now and paste it into your LMS. It is valid until " + localTime(r.expires_at) + (r.reusable ? " and can be used several times." : " and works once."));
      }, dynMsg.error);
    });
    dyn.appendChild(dynForm);

    var listSection = section(main, "Registered platforms", "Only active platforms can launch. Deactivate keeps the registration but refuses its logins and launches.");
    var platforms = pagedList(listSection, function (next) {
      return api("GET", withNext("/api/platforms?limit=50", next)).then(function (d) { return { items: d.platforms || [], next: d.next }; });
    }, function (p) { return drawPlatform(p, function () { platforms.reload(); }); }, "No platforms registered yet.", "LTI 1.3 platforms");
    platforms.reload();

    var reg = section(main, "Register a platform by hand", "Copy these values from the LMS's tool registration (e.g. Canvas's developer key, Moodle's tool details).");
    var f = {
      name: field("Name", "text", { hint: "Your name for this LMS, e.g. \u201cCanvas production\u201d." }),
      url: field("Issuer (platform id)", "url", { hint: "e.g. https://canvas.instructure.com — the iss of its launches." }),
      clientId: field("Client ID", "text", {}),
      deploymentIds: field("Deployment IDs (one per line)", "textarea", { rows: 2, hint: "May be empty until the LMS shows one." }),
      auth: field("Authentication request URL (OIDC auth endpoint)", "url", {}),
      token: field("Access token URL", "url", {}),
      jwks: field("Platform keyset URL (JWKS)", "url", {}),
      audience: field("Token audience (optional)", "text", { hint: "Only if the LMS names an authorization server other than the access token URL." }),
    };
    var regMsg = messageArea();
    var regForm = el("form", { novalidate: true });
    Object.keys(f).forEach(function (k) { regForm.appendChild(f[k].wrap); });
    append(regForm, [el("div", { className: "actions" }, el("button", { type: "submit" }, "Register platform")), regMsg.node]);
    regForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {
        name: f.name.input.value.trim(),
        url: f.url.input.value.trim(),
        clientId: f.clientId.input.value.trim(),
        authenticationEndpoint: f.auth.input.value.trim(),
        accesstokenEndpoint: f.token.input.value.trim(),
        authConfig: { method: "JWK_SET", key: f.jwks.input.value.trim() },
        deploymentIds: f.deploymentIds.input.value.split(/\n+/).map(function (s) { return s.trim(); }).filter(Boolean),
      };
      var aud = nullIfBlank(f.audience.input.value);
      if (aud) body.authorizationServer = aud;
      api("POST", "/api/platforms", body).then(function (p) {
        regMsg.ok("Platform \u201c" + p.name + "\u201d registered (" + p.id + ").");
        Object.keys(f).forEach(function (k) { f[k].input.value = ""; });
        platforms.reload();
      }, regMsg.error);
    });
    reg.appendChild(regForm);
  }

  function drawPlatform(p, reload) {
    var title = p.name || p.url;
    var item = el("li", { className: "card" },
      el("h3", null, title, " ", statusBadge(p.active ? "active" : "inactive")),
      facts([
        ["Platform id", el("code", null, p.id)],
        ["Issuer", el("code", null, p.url)],
        ["Client ID", el("code", null, p.clientId)],
        ["Deployment IDs", (p.deploymentIds || []).length ? el("code", null, p.deploymentIds.join(", ")) : "none yet"],
        ["Authentication request URL", el("code", null, p.authenticationEndpoint)],
        ["Access token URL", el("code", null, p.accesstokenEndpoint)],
        ["Platform keys", p.authConfig ? p.authConfig.method + (p.authConfig.method === "JWK_SET" ? ": " + p.authConfig.key : "") : ""],
        ["Registered", when(p.createdAt)],
      ]));
    var msg = messageArea();
    var toggle = button(p.active ? "Deactivate" : "Activate", function () {
      toggle.disabled = true;
      api("POST", "/api/platforms/" + enc(p.id) + "/" + (p.active ? "deactivate" : "activate"), {}).then(function (updated) {
        announce(title + (p.active ? " deactivated" : " activated"));
        var fresh = drawPlatform(updated || p, reload);
        item.replaceWith(fresh);
        fresh.querySelector(".actions button").focus();
      }, function (err) { toggle.disabled = false; msg.error(err); });
    }, { ariaLabel: (p.active ? "Deactivate " : "Activate ") + title, className: p.active ? "secondary" : null });
    var bindingsArea = el("div", { className: "bindings" });
    var showBindings = button("Show LTI 1.1 key approvals", function () {
      showBindings.hidden = true;
      drawBindings(bindingsArea, p);
    }, { className: "secondary", ariaLabel: "Show LTI 1.1 key approvals for " + title });
    append(item, [el("div", { className: "actions" }, toggle, showBindings), msg.node, bindingsArea]);
    return item;
  }

  function drawBindings(area, p) {
    clear(area);
    var id = nextId("b");
    append(area, [
      el("h4", { id: id }, "LTI 1.1 \u2192 1.3 key approvals"),
      el("p", { className: "section-intro" }, "When a course moves from LTI 1.1 to 1.3, this LMS's launches name an LTI 1.1 consumer key of yours without a signature proving it (Canvas, Blackboard). Approve to treat those launches as coming from that key (its outcome records and service keys); reject to stop it."),
    ]);
    var list = pagedList(area, function (next) {
      return api("GET", withNext("/api/platforms/" + enc(p.id) + "/lti11-bindings?limit=50", next)).then(function (d) { return { items: d.bindings || [], next: d.next }; });
    }, function (b) {
      var li = el("li", { className: "card" },
        el("h5", null, "Key ", el("code", null, b.consumerKey), " ", statusBadge(b.status)),
        facts([
          ["Deployment", el("code", null, b.deploymentId)],
          ["Why approval is needed", b.reason === "signature_missing" ? "the launch carried no LTI 1.1 signature" : b.reason === "signature_mismatch" ? "the LTI 1.1 signature did not verify" : b.reason],
          ["First seen", when(b.firstSeenAt)],
          b.decidedAt ? ["Decided", when(b.decidedAt)] : null,
          b.decidedBy ? ["Decided by API key", b.decidedBy] : null,
        ]));
      var msg = messageArea();
      function decide(what) {
        return function () {
          api("POST", "/api/platforms/" + enc(p.id) + "/lti11-bindings/" + enc(b.id) + "/" + what, {}).then(function () {
            announce("Binding " + (what === "approve" ? "approved" : "rejected"));
            list.reload();
          }, msg.error);
        };
      }
      var buttons = el("div", { className: "actions" });
      if (b.status !== "approved") buttons.appendChild(button("Approve", decide("approve"), { ariaLabel: "Approve key " + b.consumerKey + " for deployment " + b.deploymentId }));
      if (b.status !== "rejected") buttons.appendChild(button("Reject", decide("reject"), { className: "danger", ariaLabel: "Reject key " + b.consumerKey + " for deployment " + b.deploymentId }));
      append(li, [buttons, msg.node]);
      return li;
    }, "No LTI 1.1 keys are waiting for approval on this platform.", "LTI 1.1 key approvals for " + (p.name || p.url));
    list.reload();
  }

  // ---- Classes -----------------------------------------------------------------------------------

  function pageClasses(main, token) {
    pageHeader(main, "Classes", "A class is what an LMS course links to; its units are what assignments link to. Open a class to switch LTI on or off, set its Class LMS URL and copy its launch URLs.");
    var create = section(main, "Create a class", null);
    var name = field("Class name", "text", { hint: "Up to 200 characters." });
    var msg = messageArea();
    var form = el("form", { novalidate: true }, name.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Create class")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/classes", { name: name.input.value.trim() }).then(function (c) {
        window.location.hash = "#/classes/" + c.class_id;
      }, msg.error);
    });
    create.appendChild(form);
    var listSection = section(main, "Your classes", null);
    var classes = pagedList(listSection, function (next) {
      return api("GET", withNext("/api/classes?limit=50", next)).then(function (d) { return { items: d.classes || [], next: d.next }; });
    }, function (c) {
      return el("li", { className: "card" },
        el("h3", null, el("a", { href: "#/classes/" + c.class_id }, c.name)),
        facts([
          ["LTI", c.lti_enabled ? "enabled" : "disabled"],
          ["Class id", el("code", null, c.class_id)],
          ["LMS courses seen", String((c.lms_contexts || []).length)],
        ]));
    }, "No classes yet.", "Classes");
    classes.reload();
  }

  function pageClass(main, token, classId) {
    var instructor = session.role === "instructor";
    var owner = session.role === "owner";
    var base = "/api/classes/" + enc(classId);
    Promise.all([api("GET", base), loadAll(base + "/units?limit=100", "units")]).then(function (results) {
      if (stale(token)) return;
      var cls = results[0];
      var units = results[1];
      main.appendChild(el("p", { className: "breadcrumb" }, instructor ? null : el("a", { href: "#/classes" }, "\u2190 All classes")));
      pageHeader(main, cls.name, "Paste the class launch URL into your LMS course (and a unit's launch URL into each assignment), then switch on Enable LTI. The Class LMS URL is the LMS course page students are sent back to.");
      var heading = main.querySelector("h1");
      if (heading) { heading.setAttribute("tabindex", "-1"); document.title = cls.name + " · LTI Gateway console"; heading.focus(); }

      var urlSection = section(main, "Class launch URL", "For LTI 1.1, paste it as the launch URL with a consumer key and secret; for LTI 1.3 it is a valid target link URI.");
      urlSection.appendChild(copyable("Class launch URL", cls.launch_url, { what: "class launch URL" }));

      drawClassSettings(main, cls, owner);
      drawCourseCopies(main, cls);
      drawUnits(main, cls, units, instructor);

      var exp = section(main, "Download this class's LTI settings", null);
      exp.appendChild(exportLinks(cls));
    }, function (err) {
      if (stale(token)) return;
      pageHeader(main, "Class", "This class could not be loaded.");
      loadError(main, err);
    });
  }

  function drawClassSettings(main, cls, owner) {
    var s = section(main, "Class settings", null);
    var name = field("Class name", "text", { value: cls.name });
    var enabled = field("Enable LTI", "checkbox", {
      checked: cls.lti_enabled,
      hint: "When off, every launch into this class and its units is refused (from the very next launch).",
    });
    var lmsUrl = field("Class LMS URL", "url", {
      value: cls.class_lms_url,
      hint: "The LMS course page, e.g. https://canvas.example.edu/courses/42. It must be on an LMS your organisation has launched from (or, for owners, confirmed below). Leave empty to remove it.",
    });
    var confirm = owner ? field("Accept this LMS site even though no launch came from it yet (owner confirmation)", "checkbox", {
      checked: false,
      hint: "Tick it only if you trust that site: the class's public link sends students there.",
    }) : null;
    var appUrl = field("App launch URL for this class (optional)", "url", {
      value: cls.app_launch_url,
      hint: "Overrides the organisation's app launch URL for launches into this class. Leave empty to use the organisation's.",
    });
    var status = el("p", { className: "hint" }, classLmsStatus(cls));
    var msg = messageArea();
    var form = el("form", { novalidate: true }, name.wrap, enabled.wrap, lmsUrl.wrap, status, confirm ? confirm.wrap : null, appUrl.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Save class settings")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { version: cls.version };
      var n = name.input.value.trim();
      if (n !== cls.name) body.name = n;
      if (enabled.input.checked !== cls.lti_enabled) body.lti_enabled = enabled.input.checked;
      var u = nullIfBlank(lmsUrl.input.value);
      if (u !== (cls.class_lms_url || null) || (confirm && confirm.input.checked)) body.class_lms_url = u;
      if (confirm && confirm.input.checked && u) body.class_lms_url_confirmed = true;
      var a = nullIfBlank(appUrl.input.value);
      if (a !== (cls.app_launch_url || null)) body.app_launch_url = a;
      if (Object.keys(body).length === 1) {
        msg.ok("Nothing changed.");
        return;
      }
      api("PATCH", "/api/classes/" + enc(cls.class_id), body).then(function (updated) {
        Object.keys(updated).forEach(function (k) { cls[k] = updated[k]; });
        if (confirm) confirm.input.checked = false;
        status.textContent = classLmsStatus(cls);
        msg.ok("Saved. LTI is " + (updated.lti_enabled ? "enabled" : "disabled") + " for this class.");
      }, msg.error);
    });
    s.appendChild(form);
  }

  function classLmsStatus(cls) {
    if (!cls.class_lms_url) return "Saved Class LMS URL: none.";
    return "Saved Class LMS URL: " + cls.class_lms_url + (cls.class_lms_url_confirmed
      ? " (its site was confirmed by an owner)."
      : " (on an LMS your organisation launched from).");
  }

  function drawCourseCopies(main, cls) {
    var contexts = cls.lms_contexts || [];
    // The same course id through two connections (an LTI 1.1 consumer key and an LTI 1.3 issuer) is
    // one course launching both ways, not a copy: count distinct course ids.
    var courseIds = [];
    contexts.forEach(function (c) {
      if (courseIds.indexOf(c.context_id) === -1) courseIds.push(c.context_id);
    });
    var intro;
    if (!contexts.length) intro = "No LMS course has launched into this class yet.";
    else if (contexts.length === 1) intro = "One LMS course launches into this class.";
    else if (courseIds.length === 1) intro = "One LMS course id launches into this class through " + contexts.length + " connections (an LTI 1.1 consumer key, an LTI 1.3 platform issuer; listed below). Usually that is one course of an LMS that launches both ways, not a course copy.";
    else intro = "Course copies detected: " + courseIds.length + " LMS courses launch into this class. A copied LMS course keeps the same launch URL, so its launches land here too. Check that this is what you want.";
    var s = section(main, "LMS courses using this class", intro);
    if (!contexts.length) return;
    var list = el("ul", { className: "cards", "aria-label": "LMS courses" });
    contexts.forEach(function (c) {
      list.appendChild(el("li", { className: "card" }, facts([
        ["LMS course (context id)", el("code", null, c.context_id)],
        ["Through (consumer key or issuer)", el("code", null, c.source || "")],
        ["First launch", when(c.first_seen_at)],
      ])));
    });
    s.appendChild(list);
  }

  function drawUnits(main, cls, units, instructor) {
    var s = section(main, "Units", "Each unit has its own launch URL: paste it into an LMS assignment or activity so it opens that unit.");
    var list = el("ol", { className: "cards units", "aria-label": "Units" });
    var empty = el("p", null, "No units yet.");
    s.appendChild(empty);
    s.appendChild(list);
    var addMsg = messageArea();
    function redraw() {
      addMsg.hide();
      clear(list);
      empty.hidden = units.length > 0;
      units.forEach(function (u) { list.appendChild(drawUnit(u)); });
    }
    function drawUnit(u) {
      var li = el("li", { className: "card" }, el("h3", null, u.name));
      li.appendChild(copyable("Launch URL", u.launch_url, { what: "launch URL of " + u.name }));
      if (u.app_launch_url) li.appendChild(facts([["App launch URL", u.app_launch_url]]));
      if (instructor) return li;
      var area = el("div");
      var rename = button("Rename", function () {
        clear(area);
        var n = field("New name for " + u.name, "text", { value: u.name });
        var a = field("App launch URL for this unit (optional)", "url", { value: u.app_launch_url, hint: "Overrides the class's and organisation's app launch URL. Leave empty to use theirs." });
        var msg = messageArea();
        var form = el("form", { className: "inline-form", novalidate: true }, n.wrap, a.wrap,
          el("div", { className: "actions" }, el("button", { type: "submit" }, "Save unit"), button("Cancel", function () { clear(area); })), msg.node);
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          var body = {};
          var name = n.input.value.trim();
          if (name !== u.name) body.name = name;
          var app = nullIfBlank(a.input.value);
          if (app !== (u.app_launch_url || null)) body.app_launch_url = app;
          if (!Object.keys(body).length) { clear(area); return; }
          api("PATCH", "/api/classes/" + enc(cls.class_id) + "/units/" + enc(u.unit_id), body).then(function (updated) {
            units = units.map(function (x) { return x.unit_id === u.unit_id ? updated : x; });
            redraw();
            announce("Unit saved");
          }, msg.error);
        });
        area.appendChild(form);
        n.input.focus();
      }, { ariaLabel: "Rename " + u.name });
      var remove = button("Remove", function () {
        clear(area);
        confirmInline(area, "Remove unit \u201c" + u.name + "\u201d? LMS assignments linking to its launch URL stop working.", "Yes, remove unit", function () {
          return api("DELETE", "/api/classes/" + enc(cls.class_id) + "/units/" + enc(u.unit_id)).then(function () {
            units = units.filter(function (x) { return x.unit_id !== u.unit_id; });
            redraw();
            announce("Unit removed");
          });
        });
      }, { className: "danger", ariaLabel: "Remove " + u.name });
      append(li, [el("div", { className: "actions" }, rename, remove), area]);
      return li;
    }
    redraw();
    if (instructor) return;
    var name = field("Unit name", "text", { hint: "The new unit is added at the end." });
    var msg = addMsg;
    var form = el("form", { novalidate: true }, el("h3", null, "Add a unit"), name.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Add unit")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/classes/" + enc(cls.class_id) + "/units", { name: name.input.value.trim() }).then(function (u) {
        units.push(u);
        list.appendChild(drawUnit(u)); // appended: a form open on another unit stays as it is
        empty.hidden = true;
        name.input.value = "";
        msg.ok("Unit \u201c" + u.name + "\u201d added.");
      }, msg.error);
    });
    s.appendChild(form);
  }

  // ---- Export ------------------------------------------------------------------------------------

  function exportLinks(cls) {
    var path = "/api/classes/" + enc(cls.class_id) + "/lti-settings?format=";
    var list = el("ul", { className: "links" });
    [
      ["csv", "CSV spreadsheet", "every launch URL, one row per unit"],
      ["json", "JSON", "for scripts"],
      ["cc", "Common Cartridge (.imscc)", "import into Canvas, Moodle, Blackboard or D2L: one link per unit"],
      ["xml", "LTI 1.1 XML configuration", "Canvas: Settings > Apps > + App > Paste XML"],
    ].forEach(function (f) {
      list.appendChild(el("li", null, el("a", { href: path + f[0], download: "" }, f[1]), " \u2014 " + f[2]));
    });
    return list;
  }

  function pageExport(main, token) {
    pageHeader(main, "Export LTI settings", "Download a class's LTI settings (launch URLs of the class and every unit, consumer keys without secrets, LTI 1.3 URLs) to set up an LMS or keep a record.");
    if (session.role === "owner") {
      var all = section(main, "Every class", "All classes of your organisation with their units, in one file.");
      all.appendChild(el("ul", { className: "links" },
        el("li", null, el("a", { href: "/api/lti-settings?format=csv", download: "" }, "All classes as CSV")),
        el("li", null, el("a", { href: "/api/lti-settings?format=json", download: "" }, "All classes as JSON")),
        el("li", null, el("a", { href: "/api/tool-configuration/canvas", download: "canvas-developer-key.json" }, "Canvas developer key JSON (LTI 1.3 platform configuration)"))));
    }
    loadAll("/api/classes?limit=100", "classes").then(function (classes) {
      if (stale(token)) return;
      if (!classes.length) main.appendChild(el("p", null, "No classes yet: create one on the Classes page."));
      classes.forEach(function (c) {
        var s = section(main, c.name, null);
        s.appendChild(exportLinks(c));
      });
    }, function (err) { if (!stale(token)) loadError(main, err); });
  }

  // ---- API keys (credentials) --------------------------------------------------------------------

  function pageApiKeys(main, token) {
    pageHeader(main, "API keys", "API keys sign in to this console and call the gateway's HTTP API. Owners manage everything; members manage classes and units only. Revoking a key also ends the console sessions opened with it.");
    var onceArea = el("div");
    main.appendChild(onceArea);
    var create = section(main, "Create an API key", null);
    var role = field("Role", "select", { value: "member", options: [{ value: "member", label: "Member (classes and units)" }, { value: "owner", label: "Owner (everything)" }] });
    var label = field("Label (optional)", "text", { hint: "Whose key this is, e.g. a person or a system." });
    var msg = messageArea();
    var form = el("form", { novalidate: true }, role.wrap, label.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Create API key")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { role: role.input.value };
      var l = nullIfBlank(label.input.value);
      if (l) body.label = l;
      api("POST", "/api/credentials", body).then(function (c) {
        msg.hide();
        label.input.value = "";
        shownOnce(onceArea, "New " + c.role + " API key created", [["API key", c.api_key]],
          "Copy it now and keep it in a password manager or your system's secret settings. It signs in to this console and calls the HTTP API.");
        creds.reload();
      }, msg.error);
    });
    create.appendChild(form);
    var listSection = section(main, "Your organisation's API keys", "Revoked keys stay listed for your records.");
    var creds = pagedList(listSection, function (next) {
      return api("GET", withNext("/api/credentials?limit=50", next)).then(function (d) { return { items: d.credentials || [], next: d.next }; });
    }, function (c) {
      var self = c.credential_id === session.credential_id;
      var title = (c.label || "(no label)");
      var li = el("li", { className: "card" },
        el("h3", null, title, " ", statusBadge(c.status), self ? " " : null, self ? statusBadge("you are signed in with this key", "self") : null),
        facts([
          ["Key id", el("code", null, c.credential_id)],
          ["Role", roleName(c.role)],
          ["Created", when(c.created_at)],
          ["Last used", when(c.last_used_at)],
          c.revoked_at ? ["Revoked", when(c.revoked_at)] : null,
        ]));
      if (c.status === "active" && !self) {
        var area = el("div");
        li.appendChild(el("div", { className: "actions" }, button("Revoke", function () {
          clear(area);
          confirmInline(area, "Revoke API key " + c.credential_id + "? It is refused from its very next request, and its console sessions end.", "Yes, revoke API key", function () {
            return api("DELETE", "/api/credentials/" + enc(c.credential_id)).then(function () { announce("API key revoked"); creds.reload(); });
          });
        }, { className: "danger", ariaLabel: "Revoke API key " + c.credential_id })));
        li.appendChild(area);
      }
      return li;
    }, "No API keys.", "API keys");
    creds.reload();
  }

  // ---- Launch errors -----------------------------------------------------------------------------

  function pageLaunchErrors(main, token) {
    pageHeader(main, "Launch errors", "When a launch or login is refused, the error page shows a reference. Enter it here to see what went wrong and what the LMS sent (kept for 31 days).");
    var ref = field("Reference", "text", { hint: "As shown on the error page or in the LMS's message." });
    var msg = messageArea();
    var out = el("div");
    var form = el("form", { className: "panel", novalidate: true }, ref.wrap,
      el("div", { className: "actions" }, el("button", { type: "submit" }, "Look up")), msg.node);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clear(out);
      var value = ref.input.value.trim().replace(/^reference:?\s*/i, "");
      if (!value) {
        msg.error(new ApiError(0, null, "Enter the reference shown on the error page."));
        return;
      }
      api("GET", "/api/launch-errors/" + enc(value)).then(function (r) {
        msg.hide();
        var s = section(out, "Launch error " + r.reference, null);
        s.appendChild(facts([
          ["What the page said", r.message],
          ["Error code", el("code", null, r.code)],
          ["HTTP status", String(r.status)],
          ["When", when(r.time)],
          ["Route", r.route],
          ["LTI version", r.protocol],
          ["Signature verified", r.verified ? "yes" : "no (the values the LMS sent are unverified)"],
          ["Consumer key", r.consumer_key],
          ["Class", r.class_id ? el("a", { href: "#/classes/" + r.class_id }, r.class_id) : null],
          ["Unit", r.unit_id],
          ["Platform", r.platform_id],
          ["Issuer", r.issuer],
          ["Client ID", r.client_id],
          ["Deployment ID", r.deployment_id],
          ["Kept until", when(r.expires_at)],
        ]));
        if (r.details !== null && r.details !== undefined && r.details !== "") {
          s.appendChild(el("h3", null, "Details"));
          s.appendChild(el("pre", null, typeof r.details === "string" ? r.details : JSON.stringify(r.details, null, 2)));
        }
        if (r.lms) {
          s.appendChild(el("h3", null, "What the LMS sent"));
          s.appendChild(facts(Object.keys(r.lms).map(function (k) { return [k, r.lms[k] === null ? null : String(r.lms[k])]; })));
        }
        var h = s.querySelector("h2");
        h.setAttribute("tabindex", "-1");
        h.focus();
      }, msg.error);
    });
    append(main, [form, out]);
    ref.input.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
