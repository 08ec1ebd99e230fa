// The tryon page: plain JavaScript over the service's own API (/v1/tryon, /v1/garments, /v1/live).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { person: null, garment: null, garmentId: null, resultUrl: null, live: null };
const LIVE_SIZE = { w: 384, h: 512 };
const LIVE_IN_FLIGHT = 2;  // frames sent but not answered: two keep both server stages busy

function apiKey() { return localStorage.getItem("tryon-api-key") || ""; }
function headers() { const k = apiKey(); return k ? { "X-API-Key": k } : {}; }

function say(text, isError = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

// Error messages from the API, in plain words, by the service's error code (the documentation's
// table); the server's own message says what to fix.
const LEADS = {
  bad_image: "That file could not be read as a photo.",
  bad_request: "The upload did not arrive complete.",
  slow_upload: "The upload took too long.",
  unauthorized: "This server needs an API key.",
  not_found: "That garment is no longer in the catalog.",
  too_large: "That photo is too large.",
  no_person: "No person could be found in your photo.",
  several_persons: "Your photo shows several people.",
  bad_pose: "Your photo does not show enough of you for this garment.",
  bad_garment: "That garment photo could not be used.",
  bad_field: "The request was not complete.",
  bad_input: "That photo could not be used.",
  busy: "The server is busy.",
  not_ready: "The server is still starting.",
  shutting_down: "The server is restarting.",
  model_unavailable: "This try-on engine is not available right now.",
  out_of_memory: "The server ran out of memory for this photo.",
  deadline: "That took too long.",
  internal: "Something went wrong on the server.",
};

async function explain(response) {
  let body = {};
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  const lead = LEADS[body.error] || `The server answered ${response.status}.`;
  let message = `${lead} ${body.message || ""}`.trim();
  if (response.status === 401) $("key-row").hidden = false;
  if (response.status === 429 || response.status === 503) {
    const wait = response.headers.get("Retry-After");
    if (wait) message += ` Try again in ${wait} s.`;
  }
  if (body.error === "internal" && body.request_id) message += ` (Reference: ${body.request_id}.)`;
  return message;
}

// The result on screen belongs to the person photo it was made from: it goes when that photo
// changes or a new try-on fails (a shopper choosing the next garment still sees the last result).
function clearResult() {
  $("result-card").hidden = true;
  $("result").removeAttribute("src");
  $("download").removeAttribute("href");
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = null;
}

function update() {
  const ready = state.person && (state.garment || state.garmentId);
  $("run").disabled = !ready;
  $("live-start").disabled = !(state.garment || state.garmentId);
}

function showPreview(img, blob) {
  img.src = URL.createObjectURL(blob);
  img.hidden = false;
}

$("person-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (!file) return;
  state.person = file;
  clearResult();
  showPreview($("person-preview"), file);
  say("");
  update();
});

$("garment-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (!file) return;
  state.garment = file;
  state.garmentId = null;
  for (const b of document.querySelectorAll("#catalog button, .strip button")) b.setAttribute("aria-selected", "false");
  $("similar-box").hidden = true;  // an uploaded photo is not in the catalog's index
  $("goes-box").hidden = true;
  showPreview($("garment-preview"), file);
  update();
});

// Take a still photo with the camera.
$("snap-start").addEventListener("click", async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    $("snap-video").srcObject = stream;
    $("snap-box").hidden = false;
    $("snap-box").scrollIntoView({ block: "nearest" });  // painted only where it can be seen
  } catch (err) {
    say(`The camera is not available (${err.name}). Upload a photo instead.`, true);
  }
});

$("snap-take").addEventListener("click", () => {
  const video = $("snap-video");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => {
    state.person = new File([blob], "camera.jpg", { type: "image/jpeg" });
    clearResult();
    showPreview($("person-preview"), blob);
    video.srcObject.getTracks().forEach((t) => t.stop());
    $("snap-box").hidden = true;
    update();
  }, "image/jpeg", 0.92);
});

// A garment as a tile: its photo, name and price; a click chooses it (in the catalog or a strip).
function tile(g) {
  const b = document.createElement("button");
  b.type = "button";
  b.setAttribute("role", "option");
  b.setAttribute("aria-selected", String(state.garmentId === g.id));
  b.dataset.id = g.id;
  b.title = g.name;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = g.name;
  img.src = g.thumbnail;
  const name = document.createElement("span");
  name.className = "tile-name";
  name.textContent = g.name;
  b.append(img, name);
  if (g.price != null) {
    const price = document.createElement("span");
    price.className = "tile-price";
    price.textContent = Number(g.price).toFixed(2);
    b.append(price);
  }
  b.addEventListener("click", () => chooseGarment(g));
  return b;
}

function chooseGarment(g) {
  state.garmentId = g.id;
  state.garment = null;
  for (const b of document.querySelectorAll("#catalog button, .strip button")) {
    b.setAttribute("aria-selected", String(b.dataset.id === g.id));
  }
  if (g.category) $("category").value = g.category;
  $("garment-preview").hidden = true;
  update();
  loadStrips(g.id);
}

// "Similar" and "Goes with" under the chosen garment; hidden when the catalog has no search index.
async function loadStrips(id) {
  const strips = [
    ["similar", fetch(`/v1/garments/${encodeURIComponent(id)}/similar?k=6`, { headers: headers() })],
    ["goes", fetch("/v1/recommend", { method: "POST", headers: { ...headers(), "Content-Type": "application/json" },
                                      body: JSON.stringify({ garment_id: id, k: 6 }) })],
  ];
  for (const [name, request] of strips) {
    let garments = [];
    try {
      const response = await request;
      if (response.ok) garments = (await response.json()).garments;
    } catch (err) { garments = []; }
    if (state.garmentId !== id) return;  // another garment was chosen meanwhile
    $(name).replaceChildren(...garments.map((g) => tile(g)));
    $(`${name}-box`).hidden = garments.length === 0;
  }
}

$("search-box").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("search-text").value.trim();
  if (!q) return;
  const response = await fetch(`/v1/search?q=${encodeURIComponent(q)}&k=8`, { headers: headers() });
  if (!response.ok) { say(await explain(response), true); return; }
  const { garments } = await response.json();
  $("found").replaceChildren(...garments.map((g) => tile(g)));
  $("found-box").hidden = garments.length === 0;
  say(garments.length ? "" : "Nothing found.");
});

async function loadCatalog() {
  let response;
  try {
    response = await fetch("/v1/garments", { headers: headers() });
  } catch (err) {
    clearResult();
    say("The server cannot be reached.", true);
    return;
  }
  if (response.status === 503) { say("The server is starting…"); setTimeout(loadCatalog, 1000); return; }
  if (!response.ok) { say(await explain(response), true); return; }
  const { garments, search } = await response.json();
  $("search-box").hidden = !search;
  $("catalog-empty").hidden = garments.length > 0;
  const box = $("catalog");
  box.replaceChildren(...garments.map((g) => tile(g)));
  say("");
}

$("api-key").addEventListener("change", (e) => {
  localStorage.setItem("tryon-api-key", e.target.value.trim());
  loadCatalog();
});

$("run").addEventListener("click", async () => {
  const form = new FormData();
  form.append("person", state.person, state.person.name || "person.jpg");
  if (state.garmentId) form.append("garment_id", state.garmentId);
  else form.append("garment", state.garment, state.garment.name || "garment.jpg");
  form.append("category", $("category").value);
  form.append("format", "webp");
  if ($("anonymize").checked) form.append("anonymize", "true");

  $("run").disabled = true;
  const started = performance.now();
  const tick = setInterval(() => say(`Working… ${((performance.now() - started) / 1000).toFixed(1)} s`), 100);
  try {
    const response = await fetch("/v1/tryon", { method: "POST", body: form, headers: headers() });
    if (!response.ok) { clearResult(); say(await explain(response), true); return; }
    const blob = await response.blob();
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = URL.createObjectURL(blob);
    $("original").src = $("person-preview").src;
    $("result").src = state.resultUrl;
    $("download").href = state.resultUrl;
    $("result-card").hidden = false;
    const timing = response.headers.get("Server-Timing") || "";
    const total = /total;dur=([\d.]+)/.exec(timing);
    $("timing").textContent = `Category: ${response.headers.get("X-Tryon-Category")}. ` +
      (total ? `Server time ${Math.round(parseFloat(total[1]))} ms.` : "");
    say("Done.");
    $("result-card").scrollIntoView({ behavior: "smooth", block: "nearest" });
  } catch (err) {
    clearResult();
    say("The server cannot be reached.", true);
  } finally {
    clearInterval(tick);
    update();
  }
});

// Live mode: camera frames over a WebSocket, try-on frames back.
async function startLive() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (err) {
    say(`The camera is not available (${err.name}).`, true);
    return;
  }
  const video = $("live-video");
  video.srcObject = stream;
  $("live-card").hidden = false;
  // Into view: the shopper watches it, and a browser may stop painting a video that is off screen
  // (its frames would then be blank).
  $("live-card").scrollIntoView({ block: "start" });
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const key = apiKey() ? `?key=${encodeURIComponent(apiKey())}` : "";
  const ws = new WebSocket(`${proto}://${location.host}/v1/live${key}`);
  ws.binaryType = "blob";
  const canvas = document.createElement("canvas");
  canvas.width = LIVE_SIZE.w;
  canvas.height = LIVE_SIZE.h;
  const live = { ws, stream, inFlight: 0, ready: false, pending: null, times: [], running: true };
  state.live = live;

  function sendFrame() {
    if (!live.running || !live.ready || live.inFlight >= LIVE_IN_FLIGHT || video.readyState < 2) return;
    // Centre-crop the camera picture to 3:4 portrait.
    const vw = video.videoWidth, vh = video.videoHeight;
    const cw = Math.min(vw, vh * 3 / 4), ch = cw * 4 / 3;
    canvas.getContext("2d").drawImage(video, (vw - cw) / 2, (vh - ch) / 2, cw, ch, 0, 0, LIVE_SIZE.w, LIVE_SIZE.h);
    live.inFlight += 1;
    canvas.toBlob((blob) => { if (ws.readyState === WebSocket.OPEN) ws.send(blob); else live.inFlight -= 1; },
      "image/jpeg", 0.8);
  }
  live.timer = setInterval(sendFrame, 15);

  ws.addEventListener("open", () => {
    const config = { category: $("category").value };
    if (state.garmentId) { config.garment_id = state.garmentId; ws.send(JSON.stringify(config)); return; }
    const reader = new FileReader();
    reader.onload = () => { config.garment = reader.result; ws.send(JSON.stringify(config)); };
    reader.readAsDataURL(state.garment);
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      const img = $("live-result");
      const old = img.src;
      img.src = URL.createObjectURL(event.data);
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
      return;
    }
    const msg = JSON.parse(event.data);
    if (msg.type === "ready") { live.ready = true; $("live-stats").textContent = "Live"; }
    else if (msg.type === "frame" || (msg.type === "error" && msg.frame)) {
      live.inFlight = Math.max(0, live.inFlight - 1);
      const now = performance.now();
      live.times.push(now);
      while (live.times.length && now - live.times[0] > 2000) live.times.shift();
      const fps = live.times.length / 2;
      $("live-stats").textContent = msg.type === "frame"
        ? `${fps.toFixed(1)} frames/s · ${Math.round(msg.latency_ms)} ms per frame`
        : `${msg.message}`;
      $("live-stats").dataset.frames = String((parseInt($("live-stats").dataset.frames || "0", 10)) + (msg.type === "frame" ? 1 : 0));
    } else if (msg.type === "error") {
      say(msg.message, true);
    }
  });
  ws.addEventListener("close", (event) => {
    if (live.running && event.code !== 1000) say(`Live mode stopped: ${event.reason || "connection closed"}.`, true);
    stopLive();
  });
}

function stopLive() {
  const live = state.live;
  if (!live) return;
  live.running = false;
  clearInterval(live.timer);
  live.stream.getTracks().forEach((t) => t.stop());
  if (live.ws.readyState === WebSocket.OPEN) live.ws.close(1000);
  state.live = null;
  $("live-card").hidden = true;
}

$("live-start").addEventListener("click", startLive);
$("live-stop").addEventListener("click", stopLive);

loadCatalog();
update();
