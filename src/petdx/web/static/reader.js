// petdx reader workstation: per-lesion reading time. While the reader works on a lesion
// candidate (focus or pointer inside its fieldset), the time is added to that candidate;
// on submit each candidate's seconds go in its hidden field. The server keeps them only
// when they are plausible (finite, >= 0, adding up to no more than the case's own time).
(function () {
  "use strict";
  const form = document.getElementById("read-form");
  if (!form) { return; }
  const totals = new Map();
  let active = null;
  let since = 0;
  function stop() {
    if (active !== null) {
      totals.set(active, (totals.get(active) || 0) + (performance.now() - since) / 1000);
      active = null;
    }
  }
  function start(lesion) {
    if (active === lesion) { return; }
    stop();
    active = lesion;
    since = performance.now();
  }
  form.querySelectorAll("fieldset.candidate").forEach(function (set) {
    const lesion = set.dataset.lesion;
    totals.set(lesion, 0);
    set.addEventListener("focusin", function () { start(lesion); });
    set.addEventListener("pointerenter", function () { start(lesion); });
    set.addEventListener("pointerleave", function () { if (active === lesion) { stop(); } });
  });
  form.addEventListener("submit", function () {
    stop();
    form.querySelectorAll("fieldset.candidate").forEach(function (set) {
      const field = set.querySelector("input.lesion-seconds");
      if (field) { field.value = (totals.get(set.dataset.lesion) || 0).toFixed(2); }
    });
  });
}());
