// Progressive enhancement only: every page works without this file.
// A form marked by a [data-once] submit button is sent once; the server places one exchange
// per confirmation page anyway (idempotency key), this just spares a second round trip.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const once = document.querySelector(`[data-once][form="${form.id}"]`) || form.querySelector("[data-once]");
  if (!once || !form.id) return;
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  once.setAttribute("aria-disabled", "true");
});

// A page that answers a form (the confirmation sent without the agreement, 400) becomes a plain
// GET entry in the history: the back button then asks the server for the page again (it is
// never cached, Cache-Control: no-store) instead of offering to resend the form. After the
// exchange is placed that GET answers "this exchange was received".
if (document.querySelector("[data-answers-post]")) {
  history.replaceState(history.state, "", location.href);
}

// On a narrow screen the navigation scrolls sideways (in English its links are wider than a
// phone): show the current page's link rather than leave it past the edge.
const mainnav = document.querySelector(".mainnav");
const current = mainnav && mainnav.querySelector("[aria-current=page]");
if (current) {
  const past = current.getBoundingClientRect().right - mainnav.getBoundingClientRect().right;
  if (past > 0) mainnav.scrollLeft += past + 8;
}
