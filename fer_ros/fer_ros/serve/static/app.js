// fer_ros serve page: plain JavaScript, no libraries (the page must work offline).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { model: null, rows: [], streaming: null, done: [] };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function colour(label) { return (state.model.colours || {})[label] || "#999"; }

// ----- model description ----------------------------------------------------------------
async function loadModel() {
  const m = await (await fetch("/api/model")).json();
  state.model = m;
  const acc = Object.entries(m.metrics || {}).filter(([k]) => k.endsWith("accuracy"))
    .map(([k, v]) => `${(100 * v).toFixed(1)}% ${k.replace(/_accuracy$/, "")
      .replace(/_/g, " ")}`);
  $("model-info").textContent = `Model ${m.model_name} ${m.model_version} (${m.arch}, ` +
    `${m.precision}, trained on ${m.dataset}); measured accuracy: ${acc.join(", ") || "n/a"}; ` +
    `classes: ${m.labels.join(", ")}; ${m.detector} face detector, ${m.backend} backend.`;
  $("limits").textContent = `Limits: ${(m.max_upload_bytes / 1048576).toFixed(0)} MB, ` +
    `${(m.max_pixels / 1e6).toFixed(0)} megapixels per image.`;
  if (m.live_topic) { $("live-tab").hidden = false; $("live-topic").textContent = m.live_topic; }
}

// ----- one image to the API -------------------------------------------------------------
async function detect(blob, name, frame = 0, stream = "") {
  const form = new FormData();
  form.append("file", blob, name);
  const query = new URLSearchParams({ annotated: "1", file: name, frame: String(frame) });
  if (stream) query.set("stream", stream);
  const response = await fetch(`/api/detect?${query}`, { method: "POST", body: form });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function faceBlock(face, labels) {
  const who = face.face_id === 4294967295 ? "" : ` #${face.face_id}`;
  const block = el("div", { class: "face" },
    el("div", {}, el("span", { class: "face-label" }, face.label),
       ` ${(100 * face.confidence).toFixed(0)}%${who}`));
  labels.forEach((label, i) => {
    const p = face.scores[i];
    block.append(el("div", { class: "bar", "data-label": label },
      el("span", { class: "name" }, label),
      el("span", { class: "track" }, el("span", { class: "fill",
        style: `display:block;width:${(100 * p).toFixed(1)}%;background:${colour(label)}` })),
      el("span", {}, `${(100 * p).toFixed(0)}%`)));
  });
  return block;
}

function fillCard(card, title, doc) {
  card.replaceChildren();
  card.append(el("img", { src: `data:image/jpeg;base64,${doc.annotated_jpeg}`,
                          alt: `${title} with face boxes` }));
  const faces = el("div", { class: "faces" }, el("h4", {}, title));
  if (!doc.faces.length) faces.append(el("p", { class: "no-face" }, "no face found"));
  doc.faces.forEach((f) => faces.append(faceBlock(f, doc.labels)));
  card.append(faces);
}

function addRows(rows) {
  state.rows.push(...rows);
  $("row-count").textContent = `${state.rows.length} faces`;
  $("download-json").disabled = $("download-csv").disabled = !state.rows.length;
}

// ----- photos -----------------------------------------------------------------------------
async function photos(files) {
  for (const file of files) {
    const card = el("div", { class: "card result" });
    $("results").prepend(card);
    $("status").textContent = `analysing ${file.name}…`;
    try {
      const doc = await detect(file, file.name);
      fillCard(card, file.name, doc);
      addRows(doc.rows);
      $("status").textContent = `${file.name}: ${doc.faces.length} face(s) in ` +
        `${doc.timings_ms.total.toFixed(0)} ms`;
    } catch (err) {
      card.append(el("p", { class: "error" }, `${file.name}: ${err.message}`));
      $("status").textContent = "";
    }
  }
}

// ----- webcam and video: newest frame wins ------------------------------------------------
function measuredFps() {
  const now = performance.now();
  state.done = state.done.filter((t) => now - t < 3000);
  if (state.done.length < 2) return 0;
  return (state.done.length - 1) / ((state.done[state.done.length - 1] - state.done[0]) / 1000);
}

async function streamFrames(video, name, isRunning, frameIndex) {
  const stream = `${name}-${Date.now()}`;
  const canvas = document.createElement("canvas");
  const card = $("stream-card");
  card.hidden = false;
  state.done = [];
  while (isRunning()) {
    if (!video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const frame = frameIndex();
    const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
    try {
      const doc = await detect(blob, name, frame, stream);
      fillCard(card, `${name}, frame ${frame}`, doc);
      addRows(doc.rows);
      state.done.push(performance.now());
      const fps = measuredFps();
      $("fps").textContent = fps.toFixed(1);
      $("fps").dataset.fps = fps.toFixed(2);
    } catch (err) {
      $("status").textContent = `${name}: ${err.message}`;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function startWebcam() {
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (err) {
    $("status").textContent = `webcam: ${err.message} (allow the camera; browsers only ` +
      "allow it on localhost or https)";
    return;
  }
  const video = el("video", { autoplay: "", muted: "", playsinline: "" });
  video.srcObject = media;
  await video.play();
  const run = { stop: false };
  state.streaming = () => { run.stop = true; media.getTracks().forEach((t) => t.stop()); };
  $("webcam-start").hidden = true; $("webcam-stop").hidden = false;
  $("status").textContent = "webcam running";
  let frames = 0;
  await streamFrames(video, "webcam", () => !run.stop, () => frames++);
  $("webcam-start").hidden = false; $("webcam-stop").hidden = true;
  $("status").textContent = "webcam stopped";
}

async function playVideo(file) {
  const video = el("video", { muted: "", playsinline: "" });
  video.muted = true;
  video.src = URL.createObjectURL(file);
  let presented = 0;  // frames the browser has shown: the index of the frame we grab
  const count = (now, meta) => { presented = meta.presentedFrames;
    video.requestVideoFrameCallback(count); };
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(count);
  $("status").textContent = `playing ${file.name}`;
  try { await video.play(); } catch (err) {
    $("status").textContent = `${file.name}: this browser cannot play it (${err.message}); ` +
      "try MP4 (H.264) or WebM";
    return;
  }
  await streamFrames(video, file.name, () => !video.ended && !video.error,
                     () => Math.max(0, presented - 1));
  $("status").textContent = `${file.name}: done`;
  URL.revokeObjectURL(video.src);
}

async function handleFiles(files) {
  const list = Array.from(files);
  await photos(list.filter((f) => !f.type.startsWith("video/")));
  for (const f of list.filter((f) => f.type.startsWith("video/"))) await playVideo(f);
}

// ----- downloads (the rows of `fer-ros detect`) ------------------------------------------
function save(blob, name) {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a); a.click(); a.remove();
}

function downloadJson() {
  const m = state.model;
  const doc = { model: { name: m.model_name, version: m.model_version, backend: m.backend },
                labels: m.labels, faces: state.rows };
  save(new Blob([JSON.stringify(doc, null, 1)], { type: "application/json" }), "faces.json");
}

async function downloadCsv() {
  const response = await fetch("/api/csv", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rows: state.rows }) });
  save(await response.blob(), "faces.csv");
}

// ----- live view ------------------------------------------------------------------------------
function drawTimeline(s) {
  const svg = $("timeline");
  const ids = Object.keys(s.timeline).sort((a, b) => a - b);
  const width = 480, row = 22, left = 40;
  svg.setAttribute("height", String(Math.max(1, ids.length) * row + 18));
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const add = (tag, attrs, text) => { const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text; svg.append(n); };
  const x = (t) => left + (width - left) * (1 - (s.now - t) / s.window_s);
  ids.forEach((id, i) => {
    add("text", { x: 2, y: i * row + 15, "font-size": 12 }, `#${id}`);
    for (const [t, label, conf] of s.timeline[id]) {
      add("rect", { x: x(t), y: i * row + 3, width: 4, height: row - 6, fill: colour(label),
                    "fill-opacity": 0.3 + 0.7 * conf, class: "tl", "data-label": label });
    }
  });
  add("text", { x: left, y: ids.length * row + 14, "font-size": 10 }, `−${s.window_s} s`);
  add("text", { x: width - 24, y: ids.length * row + 14, "font-size": 10 }, "now");
}

function drawDiagnostics(statuses) {
  if (!statuses.length) return;
  const table = el("table", { class: "diag" });
  for (const s of statuses) {
    table.append(el("tr", {}, el("th", {}, s.name),
      el("td", { class: `level-${s.level}` }, s.level), el("td", {}, s.message)));
    for (const [k, v] of Object.entries(s.values)) {
      table.append(el("tr", {}, el("td", {}, ""), el("td", {}, k), el("td", {}, v)));
    }
  }
  $("diagnostics").replaceChildren(table);
}

async function pollLive() {
  try {
    const s = await (await fetch("/api/live/state")).json();
    $("live-rate").textContent = s.processed_hz.toFixed(1);
    $("live-counts").textContent = `${s.frames_received} received, ${s.frames_processed} ` +
      `processed, ${s.frames_skipped} skipped (newest frame wins)` +
      (s.errors ? `, ${s.errors} unusable: ${s.last_error}` : "");
    $("live-faces").replaceChildren(...s.faces.map((f) => el("li", {},
      el("span", { class: "face-label" }, f.label),
      ` ${(100 * f.confidence).toFixed(0)}% #${f.face_id}`)));
    drawTimeline(s);
    drawDiagnostics(s.diagnostics);
  } catch (err) { $("live-counts").textContent = `live view: ${err.message}`; }
}

function showTab(name) {
  document.querySelectorAll(".tab").forEach((t) =>
    t.classList.toggle("active", t.dataset.tab === name));
  $("try").hidden = name !== "try"; $("live").hidden = name !== "live";
  if (name === "live" && !$("live-image").src) {
    $("live-image").src = "/api/live/stream.mjpg";
    pollLive(); setInterval(pollLive, 1000);
  }
}

// ----- wiring ---------------------------------------------------------------------------------
function legend() {
  $("legend").replaceChildren(...state.model.labels.map((l) =>
    el("span", {}, el("i", { style: `background:${colour(l)}` }), l)));
}

window.addEventListener("DOMContentLoaded", async () => {
  await loadModel();
  legend();
  $("files").addEventListener("change", (e) => handleFiles(e.target.files));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over");
    handleFiles(e.dataTransfer.files); });
  $("webcam-start").addEventListener("click", startWebcam);
  $("webcam-stop").addEventListener("click", () => state.streaming && state.streaming());
  $("download-json").addEventListener("click", downloadJson);
  $("download-csv").addEventListener("click", downloadCsv);
  $("clear").addEventListener("click", () => { state.rows = []; addRows([]);
    $("results").replaceChildren(); $("stream-card").hidden = true; });
  document.querySelectorAll(".tab").forEach((t) =>
    t.addEventListener("click", () => showTab(t.dataset.tab)));
  if (location.hash === "#live" && state.model.live_topic) showTab("live");
  document.body.dataset.ready = "1";
});
