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
