// petdx reader workstation: the VOI panel (templates/reader/voi_panel.html). The browser only
// sends a seed or edit operations (docs/vois.md); petdx segments, edits and measures, and
// answers the VOI list as HTML with its own metrics, which replaces the list here.
// The point is the viewer's crosshair (window.petdxViewer, static/viewer.js; NIfTI RAS mm,
// sent as DICOM LPS mm) copied into the x, y, z fields; without a viewer, the fields as typed.
(function () {
  "use strict";
  const panel = document.getElementById("voi-panel");
  if (!panel) { return; }
  const list = document.getElementById("voi-list");
  const status = document.getElementById("voi-status");
  const series = document.getElementById("voi-series");
  const fields = ["voi-x", "voi-y", "voi-z"].map(function (id) { return document.getElementById(id); });
  let overlay = null;

  function say(text) { status.textContent = text; }

  // The viewer, once it shows its volumes (data-state "ready" on #viewer): before that, or
  // while it loads another time point, neither the crosshair nor an overlay is touched.
  function viewer() {
    const v = window.petdxViewer;
    const root = document.getElementById("viewer");
    const ready = root && root.dataset.state === "ready";
    return ready && v && typeof v.valueAtCrosshair === "function" && v.nv && v.nv.volumes && v.nv.volumes.length ? v : null;
  }

  // The seed: the crosshair (into the fields) when a viewer shows a volume, else the fields.
  function point() {
    const v = viewer();
    if (v) {
      const mm = v.valueAtCrosshair().mm;
      const lps = [-mm[0], -mm[1], mm[2]];
      fields.forEach(function (field, i) { field.value = lps[i].toFixed(2); });
    }
    const values = fields.map(function (field) { return Number.parseFloat(field.value); });
    return values.every(Number.isFinite) ? values : null;
  }

  function chosen() {
    const radio = list.querySelector("input[name=voi-chosen]:checked");
    return radio ? radio.closest("tr.voi-row") : null;
  }

  function reason() { return document.getElementById("voi-reason").value.trim(); }

  async function showOverlay() {
    const v = viewer();
    const row = chosen();
    if (!v || typeof v.nv.addVolumeFromUrl !== "function") { return; }
    try {
      if (overlay && v.nv.volumes.includes(overlay)) { v.nv.removeVolume(overlay); }
      overlay = null;
      if (!row || row.dataset.series !== series.value) { v.nv.drawScene(); return; }
      overlay = await v.nv.addVolumeFromUrl({
        url: row.dataset.maskUrl + "?v=" + row.dataset.version,
        name: "voi.nii.gz", colormap: "green", opacity: 0.5, cal_min: 0.5, cal_max: 1, colorbarVisible: false,
      });
    } catch (error) {
      overlay = null;
      say("The VOI could not be drawn over the image (" + error + "); its metrics are below.");
    }
  }

  async function answer(response) {
    if (!response.ok) {
      say("The server refused (" + response.status + "): " + (await response.text()).slice(0, 300));
      return;
    }
    list.innerHTML = await response.text();
    const error = document.getElementById("voi-error");
    say(error ? "" : "Metrics computed by petdx.");
    await showOverlay();
  }

  // One change at a time: while petdx computes one, the panel's actions are disabled (a
  // double click, or a second edit on the same base version, is never sent).
  const actions = ["voi-add", "voi-brush", "voi-erase", "voi-apply-threshold", "voi-delete"]
    .map(function (id) { return document.getElementById(id); })
    .filter(function (button) { return button !== null; });

  function busy(on) {
    panel.dataset.busy = on ? "true" : "false";
    panel.setAttribute("aria-busy", on ? "true" : "false");
    actions.forEach(function (button) { button.disabled = on; });
  }

  async function post(url, body) {
    if (panel.dataset.busy === "true") {
      say("petdx is still computing the last change: wait for its answer.");
      return;
    }
    say("petdx is computing…");
    busy(true);
    try {
      await answer(await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": panel.dataset.csrf },
        body: JSON.stringify(body),
      }));
    } finally {
      busy(false);
    }
  }

  async function refresh() {
    await answer(await fetch(panel.dataset.listUrl, { credentials: "same-origin" }));
  }

  function edit(operation) {
    const row = chosen();
    if (!row) { say("Choose the VOI to edit in the list first."); return; }
    post(row.dataset.editUrl, {
      operations: [operation],
      base_version: Number.parseInt(row.dataset.version, 10),
      reason: reason(),
    });
  }

  function sphere(op) {
    const at = point();
    if (!at) { say("Give the point (x, y, z in mm) or put the crosshair on the image."); return; }
    edit({ op: op, centre_mm: at, radius_mm: Number.parseFloat(document.getElementById("voi-radius").value) });
  }

  document.getElementById("voi-add").addEventListener("click", function () {
    const at = point();
    if (!at) { say("Give the point (x, y, z in mm) or put the crosshair on the lesion."); return; }
    const lesion = document.getElementById("voi-lesion");
    post(panel.dataset.addUrl, {
      series_uid: series.value, seed_mm: at, reason: reason(), lesion_id: lesion ? lesion.value : "",
    });
  });
  document.getElementById("voi-brush").addEventListener("click", function () { sphere("brush"); });
  document.getElementById("voi-erase").addEventListener("click", function () { sphere("erase"); });
  document.getElementById("voi-apply-threshold").addEventListener("click", function () {
    const row = chosen();
    const threshold = Number.parseFloat(document.getElementById("voi-threshold").value);
    if (!row || !row.dataset.box) { say("Choose the VOI to threshold in the list first."); return; }
    if (!Number.isFinite(threshold)) { say("Give the SUV threshold."); return; }
    const box = JSON.parse(row.dataset.box);
    const grid = JSON.parse(row.dataset.grid);
    const low = box[0].map(function (v) { return Math.max(0, v - 2); });
    const high = box[1].map(function (v, i) { return Math.min(grid[i] - 1, v + 2); });
    edit({ op: "threshold", box_zyx: [low, high], min_suv: threshold });
  });
  document.getElementById("voi-delete").addEventListener("click", function () {
    const row = chosen();
    if (!row) { say("Choose the VOI to delete in the list first."); return; }
    if (!reason()) { say("Give the reason for deleting the VOI."); return; }
    post(row.dataset.deleteUrl, { reason: reason() });
  });
  list.addEventListener("change", function () { showOverlay(); });
  const timepoint = document.querySelector(".viewer-timepoint");
  if (timepoint && series.tagName === "SELECT") {
    // The viewer reloads its volumes for the other scan (dropping the overlay with them).
    timepoint.addEventListener("change", function () { series.selectedIndex = timepoint.selectedIndex; overlay = null; });
  }
  const viewerRoot = document.getElementById("viewer");
  if (viewerRoot) {
    new MutationObserver(function () {
      if (viewerRoot.dataset.state === "ready") { showOverlay(); }
    }).observe(viewerRoot, { attributes: true, attributeFilter: ["data-state"] });
  }
  refresh().catch(function (error) { say("The VOIs could not be loaded: " + error); });
}());
