// depthfx studio page: controls generated from the server's option descriptions, previews
// fetched by generation (the newest wins), clicks that set the focus or the band.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const url = (path, query = "") =>
  `${path}?token=${encodeURIComponent(token)}${query ? "&" + query : ""}`;

const state = {
  doc: null, // {effects, choices, photo}
  choice: null, // the picker's entry
  steps: [], // [{effect, values}]
  inFlight: false, // a render request is being sent
  dirty: false, // the controls changed while it was
  latest: 0, // newest generation asked for
  shown: 0, // generation on screen
  error: null,
  exporting: false,
};

function setStatus(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.className = kind;
}

function settings() {
  return { choice: state.choice.id, steps: state.steps.map((step) => step.values) };
}

async function postJSON(path, body) {
  const response = await fetch(url(path), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// ---------------------------------------------------------------- rendering

async function requestRender() {
  if (state.inFlight) { state.dirty = true; return; }
  state.inFlight = true;
  state.dirty = false;
  state.error = null;
  setStatus("rendering", "busy");
  try {
    const answer = await postJSON("/api/render", settings());
    showCommand(answer.command);
    $("toml").textContent = answer.toml;
    state.latest = answer.generation;
    fetchPreview(answer.generation);
  } catch (error) {
    state.error = error.message;
    setStatus(`error: ${error.message}`, "error");
  } finally {
    state.inFlight = false;
    if (state.dirty) requestRender();
  }
}

function showCommand(text) {
  // Each word unbroken (a line break after the "-" of "--right" misleads), same text.
  const box = $("command");
  box.replaceChildren();
  text.split(" ").forEach((word, index) => {
    if (index > 0) box.append(" ");
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = word;
    box.append(span);
  });
}

async function fetchPreview(generation) {
  try {
    const response = await fetch(url("/api/preview", `generation=${generation}`));
    if (!response.ok) {
      const data = await response.json();
      if (generation === state.latest) {
        state.error = data.error;
        setStatus(`error: ${data.error}`, "error");
      }
      return;
    }
    const shown = Number(response.headers.get("X-Generation"));
    const blob = await response.blob();
    if (shown < state.latest || shown <= state.shown) return; // stale: a newer one is coming
    const image = $("preview");
    const previous = image.src;
    await new Promise((resolve) => {
      image.onload = resolve;
      image.onerror = resolve;
      image.src = URL.createObjectURL(blob);
    });
    if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    state.shown = shown;
    updateReady();
  } catch (error) {
    setStatus(`error: ${error.message}`, "error");
  }
}

function updateReady() {
  if (state.exporting || state.error) return;
  if (!state.inFlight && !state.dirty && state.shown === state.latest) setStatus("ready");
}

// ---------------------------------------------------------------- controls

function numberText(value) {
  return value === null || value === undefined ? "" : String(value);
}

function valueText(value) {
  if (Array.isArray(value)) return value.join(",");
  return numberText(value);
}

function parseNumber(text, spec) {
  if (text.trim() === "") return spec.optional ? null : NaN;
  return spec.kind === "int" ? parseInt(text, 10) : parseFloat(text);
}

function makeControl(spec, step, onChange) {
  const box = document.createElement("div");
  box.className = "control";
  box.dataset.option = spec.name;
  const label = document.createElement("label");
  const title = document.createElement("span");
  title.textContent = spec.name.replaceAll("_", " ");
  label.append(title);
  box.append(label);
  const value = step.values[spec.name];
  const set = (newValue) => { step.values[spec.name] = newValue; onChange(spec.name); };

  if (spec.kind === "bool") {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = spec.name;
    input.checked = Boolean(value);
    input.addEventListener("change", () => set(input.checked));
    label.append(input);
  } else if (spec.choices) {
    const input = document.createElement("select");
    input.name = spec.name;
    for (const word of spec.choices) input.append(new Option(word, word, false, word === value));
    input.addEventListener("change", () => set(input.value));
    label.append(input);
  } else if (spec.kind === "float" || spec.kind === "int") {
    const row = document.createElement("div");
    row.className = "row";
    const number = document.createElement("input");
    number.type = "number";
    number.name = spec.name;
    number.step = "any";
    number.value = numberText(value);
    const low = spec.low ?? spec.above;
    if (low !== null && spec.high !== null) {
      const range = document.createElement("input");
      range.type = "range";
      range.min = low;
      range.max = spec.high;
      range.step = spec.kind === "int" ? 1 : (spec.high - low) / 200;
      range.value = value ?? low;
      range.addEventListener("input", () => { number.value = range.value; });
      range.addEventListener("change", () => set(parseNumber(range.value, spec)));
      number.addEventListener("change", () => { range.value = number.value; });
      row.append(range);
    }
    number.addEventListener("change", () => set(parseNumber(number.value, spec)));
    row.append(number);
    box.append(row);
  } else {
    const input = document.createElement("input");
    input.type = "text";
    input.name = spec.name;
    input.value = valueText(value);
    input.addEventListener("change", () => set(input.value.trim() === "" && spec.optional ? null : input.value));
    box.append(input);
  }
  const help = document.createElement("div");
  help.className = "help";
  help.textContent = spec.help;
  box.append(help);
  return box;
}

function buildControls() {
  const form = $("controls");
  form.replaceChildren();
  state.steps.forEach((step, index) => {
    const holder = state.steps.length > 1 ? document.createElement("fieldset") : form;
    if (holder !== form) {
      const legend = document.createElement("legend");
      legend.textContent = `step ${index + 1}: ${step.effect}`;
      holder.append(legend);
      form.append(holder);
    }
    let panel = null;
    for (const spec of state.doc.effects[step.effect]) {
      if (spec.panel !== panel) {
        panel = spec.panel;
        const heading = document.createElement("h3");
        heading.textContent = panel;
        holder.append(heading);
      }
      holder.append(makeControl(spec, step, () => { showMarker(); requestRender(); }));
    }
  });
}

function choose(id) {
  state.choice = state.doc.choices.find((entry) => entry.id === id);
  state.steps = state.choice.steps.map((step) => ({ effect: step.effect, values: { ...step.values } }));
  $("description").textContent = state.choice.description;
  buildControls();
  const target = clickTarget();
  $("hint").textContent = target
    ? `Click the photo to set the ${target.option === "focus" ? "focus point" : "sharp band"}.`
    : "";
  showMarker();
  requestRender();
}

// ---------------------------------------------------------------- clicks

function clickTarget() {
  // The first bokeh step takes a click as its focus; else the first miniature its band.
  for (const option of ["focus", "position"]) {
    const effect = option === "focus" ? "bokeh" : "miniature";
    const step = state.steps.find((item) => item.effect === effect);
    if (step) return { step, option };
  }
  return null;
}

function showMarker() {
  const marker = $("marker");
  const target = clickTarget();
  const photo = state.doc.photo;
  marker.hidden = true;
  if (!target) return;
  const value = target.step.values[target.option];
  marker.className = target.option === "position" ? "band" : "";
  if (target.option === "position") {
    marker.style.top = `${value * 100}%`;
    marker.hidden = false;
  } else if (typeof value === "string" && /^\s*[\d.]+\s*,\s*[\d.]+\s*$/.test(value)) {
    const [x, y] = value.split(",").map(Number);
    marker.style.left = `${((x + 0.5) / photo.width) * 100}%`;
    marker.style.top = `${((y + 0.5) / photo.height) * 100}%`;
    marker.hidden = false;
  }
}

function onPhotoClick(event) {
  const target = clickTarget();
  if (!target) return;
  const rect = event.currentTarget.getBoundingClientRect();
  const photo = state.doc.photo;
  const fx = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
  const fy = Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1);
  let value;
  if (target.option === "focus") {
    const x = Math.min(photo.width - 1, Math.floor(fx * photo.width));
    const y = Math.min(photo.height - 1, Math.floor(fy * photo.height));
    value = `${x},${y}`;
  } else {
    value = Math.round(fy * 1000) / 1000;
  }
  target.step.values[target.option] = value;
  const index = state.steps.indexOf(target.step);
  const holder = state.steps.length > 1 ? $("controls").querySelectorAll("fieldset")[index] : $("controls");
  for (const input of holder.querySelectorAll(`[name="${target.option}"]`)) input.value = String(value);
  const range = holder.querySelector(`[data-option="${target.option}"] input[type=range]`);
  if (range) range.value = String(value);
  showMarker();
  requestRender();
}

function fitToWindow() {
  // The photo fitted to the space beside the controls, enlarged or reduced, aspect kept.
  const stage = $("stage");
  const photo = state.doc.photo;
  const width = stage.clientWidth - 16;
  const height = stage.clientHeight - $("hint").offsetHeight - 16;
  const scale = Math.max(Math.min(width / photo.width, height / photo.height), 0.01);
  for (const id of ["preview", "depth-view"]) {
    $(id).style.width = `${Math.floor(photo.width * scale)}px`;
    $(id).style.height = `${Math.floor(photo.height * scale)}px`;
  }
}

// ---------------------------------------------------------------- export, copy, depth

async function exportResult() {
  const button = $("export");
  button.disabled = true;
  state.exporting = true;
  setStatus("exporting at full resolution", "busy");
  try {
    const answer = await postJSON("/api/export", settings());
    setStatus(`wrote ${answer.path}`);
  } catch (error) {
    setStatus(`error: ${error.message}`, "error");
  } finally {
    state.exporting = false;
    button.disabled = false;
  }
}

async function copyText(id, button) {
  const text = $(id).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents($(id));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.execCommand("copy");
  }
  button.textContent = "copied";
  setTimeout(() => { button.textContent = "copy"; }, 1200);
}

async function start() {
  const response = await fetch(url("/api/controls"));
  state.doc = await response.json();
  fitToWindow();
  window.addEventListener("resize", fitToWindow);
  $("preview").src = url("/api/photo");
  $("depth-view").src = url("/api/depth");
  const picker = $("choice");
  for (const entry of state.doc.choices) picker.append(new Option(entry.label, entry.id));
  picker.addEventListener("change", () => choose(picker.value));
  $("depth-toggle").addEventListener("change", (event) => {
    $("depth-view").hidden = !event.target.checked;
    $("preview").hidden = event.target.checked;
  });
  $("preview").addEventListener("click", onPhotoClick);
  $("depth-view").addEventListener("click", onPhotoClick);
  $("export").addEventListener("click", exportResult);
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => copyText(button.dataset.copy, button));
  }
  choose(state.doc.choices[0].id);
}

start().catch((error) => setStatus(`error: ${error.message}`, "error"));
