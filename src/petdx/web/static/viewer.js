// The reader's viewer (templates/reader/viewer.html): PET fused over CT or MR in NiiVue.
//
// Volumes come from the reader_volume route as NIfTI (petdx.pipeline.viewer_volumes): PET in
// SUVbw, or in Bq/ml when petdx could not compute SUV (the response header x-petdx-unit says
// which; then the page shows a warning and never the word SUV). The value at the cursor is
// read from the loaded PET volume: petdx wrote petdx's own SUV into every voxel. VOI metrics
// are never computed here; they come from the server. The rotating MIP is a display only:
// maximum projections of the loaded PET volume, computed frame by frame on a 2-D canvas.
//
// No inline script or style: the page's Content-Security-Policy (petdx.web.security) allows
// scripts from 'self' only; NiiVue loads volumes from the ArrayBuffers fetched here.

import { Niivue, SLICE_TYPE, SHOW_RENDER, DRAG_MODE } from "./vendor/niivue/niivue-0.69.0.js";

const SUV_UNIT = "SUVbw";
const CROSSHAIR = [0, 1, 0, 1]; // pure green: tests tell it from the image's pixels
const PET_COLORMAPS = ["hot", "warm", "inferno", "plasma", "viridis", "gray"];
const MIP_STEP_DEG = 10;

function $(root, selector) {
  return root.querySelector(selector);
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

async function fetchVolume(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    const detail = (await response.text()).slice(0, 300);
    throw new Error(`The volume could not be loaded (${response.status}): ${detail}`);
  }
  return {
    buffer: await response.arrayBuffer(),
    unit: response.headers.get("x-petdx-unit") || "",
    warning: response.headers.get("x-petdx-warning") || "",
  };
}

function formatValue(value) {
  if (!Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 100) return value.toFixed(1);
  return value.toFixed(2);
}

function percentile(values, fraction) {
  const sample = [];
  const step = Math.max(1, Math.floor(values.length / 200000));
  for (let i = 0; i < values.length; i += step) {
    if (values[i] > 0) sample.push(values[i]);
  }
  if (!sample.length) return 1;
  sample.sort((a, b) => a - b);
  return sample[Math.min(sample.length - 1, Math.floor(fraction * sample.length))];
}

// --- rotating MIP: maximum projections about the patient's long axis ----------------------
class RotatingMip {
  constructor(canvas, pet) {
    this.canvas = canvas;
    this.pet = pet;
    this.frames = new Map();
    this.angle = 0;
    this.timer = null;
    const [, nx, ny, nz] = pet.hdr.dims;
    const [, dx, dy, dz] = pet.hdr.pixDims.map(Math.abs);
    Object.assign(this, { nx, ny, nz, dx, dy, dz });
    this.step = Math.min(dx, dy);
    this.radius = 0.5 * Math.hypot(nx * dx, ny * dy);
    this.width = Math.max(1, Math.round((2 * this.radius) / this.step));
    const slope = pet.hdr.scl_slope || 1;
    this.scale = slope;
    this.offset = pet.hdr.scl_inter || 0;
  }

  project(angleDeg) {
    const { nx, ny, nz, dx, dy, width, step, radius, pet } = this;
    const img = pet.img;
    const out = new Float32Array(width * nz);
    const theta = (angleDeg * Math.PI) / 180;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const cx = (nx - 1) / 2;
    const cy = (ny - 1) / 2;
    const plane = nx * ny;
    // voxel offsets of every ray sample (u across the view, t along the ray), shared by slices
    const offsets = [];
    const columns = [];
    for (let u = 0; u < width; u++) {
      const um = -radius + (u + 0.5) * step;
      for (let t = 0; t < width; t++) {
        const tm = -radius + (t + 0.5) * step;
        const x = Math.round(cx + (um * cos - tm * sin) / dx);
        const y = Math.round(cy + (um * sin + tm * cos) / dy);
        if (x >= 0 && x < nx && y >= 0 && y < ny) {
          offsets.push(x + y * nx);
          columns.push(u);
        }
      }
    }
    for (let z = 0; z < nz; z++) {
      const base = z * plane;
      const row = (nz - 1 - z) * width; // superior at the top
      for (let n = 0; n < offsets.length; n++) {
        const v = img[base + offsets[n]];
        if (v > out[row + columns[n]]) out[row + columns[n]] = v;
      }
    }
    return out;
  }

  draw(windowMin, windowMax) {
    const key = this.angle;
    if (!this.frames.has(key)) this.frames.set(key, this.project(key));
    const data = this.frames.get(key);
    const { width, nz, dz, step } = this;
    const off = document.createElement("canvas");
    off.width = width;
    off.height = nz;
    const context = off.getContext("2d");
    const pixels = context.createImageData(width, nz);
    const low = (windowMin - this.offset) / this.scale;
    const span = Math.max(1e-12, (windowMax - windowMin) / this.scale);
    for (let i = 0; i < data.length; i++) {
      const level = Math.max(0, Math.min(1, (data[i] - low) / span));
      const grey = Math.round(255 * (1 - level)); // black on white, as PET MIPs are read
      pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = grey;
      pixels.data[4 * i + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
    const height = Math.round((nz * dz) / step);
    this.canvas.width = width;
    this.canvas.height = height;
    const target = this.canvas.getContext("2d");
    target.imageSmoothingEnabled = true;
    target.drawImage(off, 0, 0, width, height);
  }

  start(getWindow) {
    this.stop();
    const tick = () => {
      const [low, high] = getWindow();
      this.draw(low, high);
      this.angle = (this.angle + MIP_STEP_DEG) % 360;
    };
    tick();
    this.timer = window.setInterval(tick, 120);
  }

  stop() {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }
}

// --- the viewer -----------------------------------------------------------------------------
class CaseViewer {
  constructor(root) {
    this.root = root;
    this.timePoints = JSON.parse(root.dataset.volumes);
    this.canvas = $(root, "canvas.viewer-canvas");
    this.mipCanvas = $(root, "canvas.viewer-mip");
    this.status = $(root, ".viewer-status");
    this.warning = $(root, ".viewer-warning");
    this.valueOut = $(root, ".viewer-value");
    this.unitOut = $(root, ".viewer-unit");
    this.positionOut = $(root, ".viewer-position");
    this.distanceOut = $(root, ".viewer-distance");
    this.presetSelect = $(root, "select.viewer-preset");
    this.customMin = $(root, "input.viewer-min");
    this.customMax = $(root, "input.viewer-max");
    this.colormapSelect = $(root, "select.viewer-colormap");
    this.opacityInput = $(root, "input.viewer-opacity");
    this.timePointSelect = $(root, "select.viewer-timepoint");
    this.nv = null;
    this.unit = "";
    this.mip = null;
    this.loaded = null;
  }

  async start() {
    const started = performance.now();
    const first = this.fetchPoint(0); // the volumes download while NiiVue starts
    first.catch(() => {}); // (a failure is reported by load, below)
    this.nv = new Niivue({
      backColor: [0, 0, 0, 1],
      crosshairColor: CROSSHAIR,
      isColorbar: true,
      multiplanarShowRender: SHOW_RENDER.NEVER,
      dragMode: DRAG_MODE.measurement, // right button: distance
      isOrientationTextVisible: true,
      showMeasureUnits: true,
      measureTextColor: [1, 1, 0, 1],
      measureLineColor: [1, 1, 0, 1],
    });
    await this.nv.attachToCanvas(this.canvas);
    this.nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
    this.nv.onLocationChange = () => this.updateReadout();
    this.nv.onMeasurementCompleted = (m) => {
      this.distanceOut.textContent = `${m.distance.toFixed(1)} mm`;
      this.distanceOut.dataset.mm = String(m.distance);
    };
    this.wireControls();
    await this.load(0, first);
    const frame = await new Promise((resolve) =>
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now()))),
    );
    this.root.dataset.interactiveMs = String(frame - started);
    this.root.dataset.sinceNavigationMs = String(frame);
    this.root.dataset.state = "ready";
    return this;
  }

  fetchPoint(index) {
    const point = this.timePoints[index];
    return Promise.all([
      fetchVolume(point.pet_url),
      point.anatomy_url ? fetchVolume(point.anatomy_url) : Promise.resolve(null),
    ]);
  }

  async load(index, fetched = null) {
    const point = this.timePoints[index];
    show(this.status, `Loading the ${point.label} volumes…`);
    const [pet, anatomy] = await (fetched || this.fetchPoint(index));
    this.mip?.stop();
    this.mip = null;
    while (this.nv.volumes.length) this.nv.removeVolume(this.nv.volumes[0]);
    if (anatomy) {
      const isCt = anatomy.unit === "HU";
      await this.nv.addVolumeFromUrl({
        url: "anatomy.nii.gz",
        name: "anatomy.nii.gz",
        buffer: anatomy.buffer,
        colormap: "gray",
        ...(isCt ? { cal_min: -160, cal_max: 240 } : {}),
      });
    }
    this.unit = pet.unit;
    const isSuv = pet.unit === SUV_UNIT;
    await this.nv.addVolumeFromUrl({
      url: "pet.nii.gz",
      name: "pet.nii.gz",
      buffer: pet.buffer,
      colormap: this.colormapSelect.value || "hot",
      opacity: anatomy ? Number(this.opacityInput.value) : 1,
      cal_min: 0,
      cal_max: isSuv ? 5 : undefined,
    });
    this.petIndex = this.nv.volumes.length - 1;
    this.fillPresets(isSuv);
    show(this.warning, isSuv ? "" : pet.warning || `Values are in ${pet.unit}.`);
    this.unitOut.textContent = pet.unit === SUV_UNIT ? "SUV" : pet.unit;
    this.root.dataset.unit = pet.unit;
    this.root.dataset.anatomy = anatomy ? anatomy.unit || "MR" : "";
    this.applyPreset();
    show(this.status, "");
    this.loaded = index;
    this.updateReadout();
  }

  get petVolume() {
    return this.nv.volumes[this.petIndex];
  }

  fillPresets(isSuv) {
    const options = isSuv
      ? [
          ["0-5", "SUV 0–5"],
          ["0-10", "SUV 0–10"],
          ["custom", "Custom"],
        ]
      : [
          ["auto", `0 to the 99.5th percentile (${this.unit})`],
          ["custom", "Custom"],
        ];
    this.presetSelect.replaceChildren(
      ...options.map(([value, label]) => new Option(label, value)),
    );
    $(this.root, ".viewer-window-unit").textContent = isSuv ? "SUV" : this.unit;
  }

  windowRange() {
    const preset = this.presetSelect.value;
    if (preset === "0-5") return [0, 5];
    if (preset === "0-10") return [0, 10];
    if (preset === "auto") return [0, percentile(this.petVolume.img, 0.995)];
    const low = Number(this.customMin.value);
    const high = Number(this.customMax.value);
    return Number.isFinite(low) && Number.isFinite(high) && high > low ? [low, high] : [0, 5];
  }

  applyPreset() {
    const custom = this.presetSelect.value === "custom";
    $(this.root, ".viewer-custom").hidden = !custom;
    const [low, high] = this.windowRange();
    if (!custom) {
      this.customMin.value = String(low);
      this.customMax.value = String(+high.toPrecision(4));
    }
    const pet = this.petVolume;
    pet.cal_min = low;
    pet.cal_max = high;
    this.nv.updateGLVolume();
  }

  wireControls() {
    for (const name of PET_COLORMAPS) {
      if (this.nv.colormaps().includes(name)) {
        this.colormapSelect.append(new Option(name, name));
      }
    }
    this.colormapSelect.addEventListener("change", () => {
      this.nv.setColormap(this.petVolume.id, this.colormapSelect.value);
    });
    this.presetSelect.addEventListener("change", () => this.applyPreset());
    this.customMin.addEventListener("change", () => this.applyPreset());
    this.customMax.addEventListener("change", () => this.applyPreset());
    this.opacityInput.addEventListener("input", () => {
      if (this.nv.volumes.length > 1) this.nv.setOpacity(this.petIndex, Number(this.opacityInput.value));
    });
    this.timePointSelect?.addEventListener("change", () => {
      this.load(Number(this.timePointSelect.value)).catch((error) => this.fail(error));
    });
    for (const button of this.root.querySelectorAll("button[data-view]")) {
      button.addEventListener("click", () => this.setView(button.dataset.view));
    }
    const measure = $(this.root, "button.viewer-measure");
    measure.addEventListener("click", () => {
      const on = measure.getAttribute("aria-pressed") !== "true";
      measure.setAttribute("aria-pressed", String(on));
      this.nv.opts.dragModePrimary = on ? DRAG_MODE.measurement : DRAG_MODE.crosshair;
    });
  }

  setView(view) {
    for (const button of this.root.querySelectorAll("button[data-view]")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === view));
    }
    const isMip = view === "mip";
    this.canvas.hidden = isMip;
    this.mipCanvas.hidden = !isMip;
    if (isMip) {
      this.mip ??= new RotatingMip(this.mipCanvas, this.petVolume);
      this.mip.start(() => this.windowRange());
      return;
    }
    this.mip?.stop();
    const types = {
      multiplanar: SLICE_TYPE.MULTIPLANAR,
      axial: SLICE_TYPE.AXIAL,
      coronal: SLICE_TYPE.CORONAL,
      sagittal: SLICE_TYPE.SAGITTAL,
    };
    this.nv.setSliceType(types[view]);
  }

  // The PET value at the crosshair: the loaded voxel value (petdx's SUV, or Bq/ml).
  valueAtCrosshair() {
    const pet = this.petVolume;
    const mm = this.nv.frac2mm(this.nv.scene.crosshairPos);
    const vox = pet.mm2vox([mm[0], mm[1], mm[2]]);
    const [, nx, ny, nz] = pet.hdr.dims;
    const inside = vox.every((v, i) => v >= 0 && v < [nx, ny, nz][i]);
    return {
      value: inside ? pet.getValue(vox[0], vox[1], vox[2]) : NaN,
      mm: [mm[0], mm[1], mm[2]],
      voxel: Array.from(vox),
    };
  }

  updateReadout() {
    if (!this.nv?.volumes.length) return;
    const { value, mm, voxel } = this.valueAtCrosshair();
    this.valueOut.textContent = formatValue(value);
    this.valueOut.dataset.value = String(value);
    this.valueOut.dataset.voxel = voxel.join(",");
    this.positionOut.textContent = mm.map((v) => v.toFixed(1)).join(", ");
  }

  // Put the crosshair at a point of the scanner's world (NIfTI RAS mm).
  moveTo(mmRas) {
    this.nv.scene.crosshairPos = this.nv.mm2frac(mmRas);
    this.nv.drawScene();
    this.nv.createOnLocationChange();
    this.updateReadout();
    return this.valueAtCrosshair();
  }

  fail(error) {
    show(this.status, "");
    show(this.warning, String(error.message || error));
    this.root.dataset.state = "failed";
  }
}

const root = document.getElementById("viewer");
if (root) {
  const viewer = new CaseViewer(root);
  // the page's own handle (tests and the benchmark drive the viewer through it)
  window.petdxViewer = viewer;
  viewer.start().catch((error) => viewer.fail(error));
}
