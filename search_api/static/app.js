// sopkg web pages: keyboard shortcuts, search without a page reload, card actions.
// Works without this script too: the search form is a plain GET form and the server
// renders the results for any /?q=... URL.
"use strict";

(function () {
  const form = document.getElementById("search-form");
  const box = document.getElementById("q");
  const results = document.getElementById("results");

  // "/" focuses the search box (or goes to the search page), unless typing somewhere.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = document.activeElement;
    const typing = el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
    if (typing) return;
    e.preventDefault();
    if (box) {
      box.focus();
      box.select();
    } else {
      window.location.href = "/";
    }
  });

  // --- the document page: bring the cited statement into view ------------------------
  const cited = document.querySelector(".document .cited");
  if (cited && !window.location.hash) {
    cited.scrollIntoView({ block: "center" });
  }

  // --- the sign-in page: already signed in? ------------------------------------------
  // A link followed from another site (chat, a ticket) arrives without the SameSite=Strict
  // cookie and lands here; this same-site request carries it, so go on to the link.
  const signin = document.querySelector(".signin[data-next]");
  if (signin && document.getElementById("key")) {
    fetch("/_session", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 204) window.location.replace(signin.dataset.next);
    }).catch(function () {});
  }

  if (!form || !results) return;

  function params() {
    const out = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (typeof v === "string" && v !== "") out.set(k, v);
    }
    return out;
  }

  let inflight = null;
  let seq = 0;

  function painted() {
    // After the next frame is painted: the benchmark and tests listen for this.
    requestAnimationFrame(function () {
      setTimeout(function () {
        document.dispatchEvent(new CustomEvent("sopkg:results"));
      }, 0);
    });
  }

  async function search(query, push) {
    const mine = ++seq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    results.setAttribute("aria-busy", "true");
    document.body.dataset.searching = "true";
    try {
      const r = await fetch("/_results?" + query.toString(), {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        signal: inflight.signal,
      });
      const html = await r.text();
      if (mine !== seq) return;
      if (r.ok || r.status === 401 || r.status === 503) {
        results.innerHTML = html;
      } else {
        const p = document.createElement("p");
        p.className = "message";
        p.setAttribute("role", "alert");
        p.textContent = results.dataset.failed.replace("{status}", String(r.status));
        results.replaceChildren(p);
      }
      const url = "/" + (query.toString() ? "?" + query.toString() : "");
      if (push) history.pushState({ q: query.toString() }, "", url);
      const q = query.get("q");
      document.title = (q ? q + " · " : "") + document.title.replace(/^.* · /, "");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      const p = document.createElement("p");
      p.className = "message";
      p.setAttribute("role", "alert");
      p.textContent = results.dataset.failed.replace("{status}", "network");
      results.replaceChildren(p);
    } finally {
      if (mine === seq) {
        results.setAttribute("aria-busy", "false");
        delete document.body.dataset.searching;
        painted();
      }
    }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    search(params(), true);
  });

  // A changed filter re-runs the search when there is a question.
  form.querySelectorAll("select").forEach(function (sel) {
    sel.addEventListener("change", function () {
      if (box.value.trim() !== "") search(params(), true);
    });
  });

  window.addEventListener("popstate", function () {
    const query = new URLSearchParams(window.location.search);
    box.value = query.get("q") || "";
    for (const name of ["market", "topic", "language"]) {
      const sel = form.elements.namedItem(name);
      if (sel) sel.value = query.get(name) || "";
    }
    search(query, false);
  });

  // --- card actions -------------------------------------------------------------------
  function visibleVersion(card) {
    return card.querySelector(".version:not([hidden])");
  }

  function say(el, text) {
    if (!el) return;
    el.textContent = text;
  }

  async function copyText(text, field) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (err) {
        /* fall through to the selection copy */
      }
    }
    // Older or non-secure contexts: copy from the (momentarily shown) field.
    const wasHidden = field.hidden;
    field.hidden = false;
    field.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    field.hidden = wasHidden;
    return ok;
  }

  results.addEventListener("click", async function (e) {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const card = target.closest(".card");

    const toggle = target.closest(".toggle-lang");
    if (toggle && card) {
      const versions = card.querySelectorAll(".version");
      const showingOther = toggle.getAttribute("aria-pressed") === "true";
      versions.forEach(function (v, i) {
        v.hidden = showingOther ? i !== 0 : i === 0;
      });
      toggle.setAttribute("aria-pressed", showingOther ? "false" : "true");
      toggle.textContent = showingOther ? toggle.dataset.labelOther : toggle.dataset.labelMain;
      return;
    }

    const copy = target.closest(".copy");
    if (copy && card) {
      const field = visibleVersion(card).querySelector(".ticket-line");
      const ok = await copyText(field.value, field);
      const status = card.querySelector(".copy-status");
      say(status, ok ? results.dataset.copied : results.dataset.copyFailed);
      if (!ok) field.hidden = false;
      card.dataset.copied = ok ? field.value : "";
      return;
    }

    const answer = target.closest(".feedback button");
    if (answer) {
      const box_ = answer.closest(".feedback");
      const status = box_.querySelector(".feedback-status");
      box_.querySelectorAll("button").forEach(function (b) {
        b.disabled = true;
      });
      try {
        const r = await fetch("/v1/feedback", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({
            query_id: box_.dataset.queryId,
            answered: answer.dataset.answered === "true",
          }),
        });
        say(status, r.ok ? results.dataset.thanks : results.dataset.feedbackFailed);
        box_.dataset.sent = r.ok ? answer.dataset.answered : "failed";
      } catch (err) {
        say(status, results.dataset.feedbackFailed);
      }
      return;
    }
  });
})();
