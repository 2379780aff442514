// The Mouthpiece studio: the native API (/v1) from a browser, with the key kept in local storage.
// Everything is same-origin; files the API serves behind the key are fetched and shown as blob URLs.

import { $, APIError, STOCK, api, clearError, credentials, report, showError } from "/studio/common.js";

const state = { stock: null, avatarId: "", job: null,
  cursor: null, objectURLs: [], voice: "audio", recorder: null, recorded: null, voices: null };


// Plain words for the warnings the analysis can give.
const WARNINGS = {
  multiple_faces: "Several faces: the largest one will talk.",
  low_resolution: "The face is small: the video will look soft.",
  not_front_facing: "The face is turned: the mouth may look less natural.",
  mouth_open_at_rest: "The mouth is open in the photo: it is closed before animating.",
};

async function blobURL(path) {
  const response = await api(path, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  state.objectURLs.push(url);
  return url;
}


// ---- pages ----

function showPage(name) {
  for (const page of ["make", "avatars", "history"]) {
    $("page-" + page).hidden = page !== name;
    document.querySelector(`nav a[data-page="${page}"]`).toggleAttribute("aria-current", page === name);
  }
  if (name === "avatars") loadAvatars().catch(report);
  if (name === "history") { state.cursor = null; $("history-list").replaceChildren(); loadHistory().catch(report); }
}

window.addEventListener("hashchange", () => showPage(location.hash.slice(1) || "make"));

// ---- the key ----

async function useKey(key) {
  credentials.key = key.trim();
  clearError();
  try {
    const usage = await api("/v1/usage");
    localStorage.setItem("mouthpiece.key", credentials.key);
    const credits = usage.credits ? `, ${Math.floor(usage.credits.left_seconds)} s of credits left` : "";
    $("key-status").textContent = `Key OK${usage.plan ? ` (plan ${usage.plan}${credits})` : ""}.`;
    await Promise.all([loadVoices(), loadSavedAvatars()]);
  } catch (error) {
    $("key-status").textContent = "";
    report(error);
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useKey($("api-key").value);
});

// ---- who speaks ----

function renderStock() {
  const holder = $("stock");
  for (const item of STOCK) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "stock";
    button.setAttribute("aria-pressed", "false");
    button.dataset.stock = item.id;
    const img = document.createElement("img");
    img.src = item.url;
    img.alt = "";
    button.append(img, document.createTextNode(item.name));
    button.addEventListener("click", () => chooseStock(item));
    holder.append(button);
  }
}

function chooseStock(item) {
  state.stock = item;
  state.avatarId = "";
  $("saved-avatar").value = "";
  $("portrait-input").value = "";
  for (const button of document.querySelectorAll("#stock button")) {
    button.setAttribute("aria-pressed", String(button.dataset.stock === item.id));
  }
  $("analysis").hidden = false;
  $("analysis-image").src = item.url;
  $("analysis-text").textContent = `${item.name}: ready.`;
}

// Creates an avatar from an uploaded portrait with the consent given in the form.
async function createAvatar(file) {
  const name = $("consent-name").value.trim();
  if (!$("consent-accepted").checked || !name) {
    throw new APIError(403, "consent_required",
      "To use an uploaded portrait, give your name and tick the consent box on the \"Make a video\" page.");
  }
  const form = new FormData();
  // A video of the person makes a video avatar: clones with its motion and its own mouths.
  form.append((file.type || "").startsWith("video/") ? "video" : "image", file, file.name || "portrait");
  form.append("consent[attested_by]", name);
  form.append("consent[relation]", $("consent-relation").value);
  form.append("consent[accepted]", "true");
  return api("/v1/avatars", { method: "POST", form });
}

async function analyse(file) {
  clearError();
  state.stock = null;
  for (const button of document.querySelectorAll("#stock button")) button.setAttribute("aria-pressed", "false");
  if (!$("consent-accepted").checked || !$("consent-name").value.trim()) {
    showError("To use an uploaded portrait, give your name and tick the consent box, then choose the file again.",
      "consent_required");
    $("portrait-input").value = "";
    return;
  }
  $("analysis-text").textContent = "Finding the face...";
  $("analysis").hidden = false;
  $("analysis-image").removeAttribute("src");
  try {
    const avatar = await createAvatar(file);
    state.avatarId = avatar.id;
    $("analysis-image").src = await blobURL(avatar.preview_url);
    const warnings = (avatar.warnings || []).map((w) => WARNINGS[w.code] || w.message);
    const found = avatar.kind === "video"
      ? `Face found in ${avatar.frames_with_face} of ${avatar.frames} frames (${avatar.duration.toFixed(1)} s).`
      : `Face found (${avatar.faces} in the picture).`;
    $("analysis-text").textContent = [found, ...warnings].join(" ");
    await loadSavedAvatars();
    $("saved-avatar").value = avatar.id;
  } catch (error) {
    state.avatarId = "";
    $("analysis").hidden = true;
    report(error);
  }
}

// The camera: a still taken from it is uploaded as a portrait.
let cameraStream = null;
$("camera").addEventListener("click", async () => {
  clearError();
  if (cameraStream) { stopCamera(); return; }
  try {
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    const view = $("camera-view");
    view.srcObject = cameraStream;
    view.hidden = false;
    await view.play();
    $("snap").hidden = false;
    $("camera").textContent = "Close the camera";
  } catch (error) {
    showError("The camera is not available: " + error.message);
  }
});

function stopCamera() {
  cameraStream?.getTracks().forEach((track) => track.stop());
  cameraStream = null;
  $("camera-view").hidden = true;
  $("snap").hidden = true;
  $("camera").textContent = "Use the camera";
}

$("snap").addEventListener("click", () => {
  const view = $("camera-view");
  const canvas = document.createElement("canvas");
  canvas.width = view.videoWidth;
  canvas.height = view.videoHeight;
  canvas.getContext("2d").drawImage(view, 0, 0);
  canvas.toBlob((blob) => {
    stopCamera();
    if (blob) analyse(new File([blob], "camera.png", { type: "image/png" }));
  }, "image/png");
});

$("portrait-input").addEventListener("change", () => {
  const file = $("portrait-input").files[0];
  if (file) analyse(file);
});

const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) analyse(file);
});

$("saved-avatar").addEventListener("change", async () => {
  const id = $("saved-avatar").value;
  state.avatarId = id;
  state.stock = null;
  if (!id) { $("analysis").hidden = true; return; }
  try {
    $("analysis").hidden = false;
    $("analysis-image").src = await blobURL(`/v1/avatars/${id}/preview`);
    $("analysis-text").textContent = "Saved avatar.";
  } catch (error) { report(error); }
});

async function loadSavedAvatars() {
  const list = await api("/v1/avatars");
  const select = $("saved-avatar");
  const current = select.value;
  select.replaceChildren(new Option("None", ""));
  for (const avatar of list.data) {
    select.append(new Option(`${avatar.kind === "video" ? "Video" : "Portrait"} ${avatar.id} (${avatar.created_at.slice(0, 10)})`, avatar.id));
  }
  select.value = current;
}

// ---- what they say ----

function showVoice(which) {
  state.voice = which;
  $("tab-audio").setAttribute("aria-selected", String(which === "audio"));
  $("tab-script").setAttribute("aria-selected", String(which === "script"));
  $("voice-audio").hidden = which !== "audio";
  $("voice-script").hidden = which !== "script";
}
$("tab-audio").addEventListener("click", () => showVoice("audio"));
$("tab-script").addEventListener("click", () => showVoice("script"));
$("script-text").addEventListener("input", () => { if ($("script-text").value) showVoice("script"); });

async function loadVoices() {
  const voices = await api("/v1/voices");
  const select = $("script-language");
  const current = select.value || "en-us";
  select.replaceChildren();
  for (const language of voices.languages) select.append(new Option(`${language.name} (${language.code})`, language.code));
  select.value = voices.languages.some((l) => l.code === current) ? current : "en-us";
  state.voices = voices;
  listVoices();
}

// The voices for the chosen language (engine, gender, quality tier), its default first, then
// espeak-ng's own voice and its variants.
function listVoices() {
  const { voices, variants } = state.voices;
  const language = $("script-language").value;
  const speaks = voices.filter((v) => v.available && v.languages.includes(language));
  const fallback = voices.find((v) => v.engine === "espeak-ng");
  const preferred = speaks.find((v) => v.default_for.includes(language)) || fallback;
  const label = (v) => `${v.id}: ${v.gender}, ${v.tier} (${v.engine})`;
  const select = $("script-voice");
  select.replaceChildren(new Option(`Default: ${label(preferred)}`, ""));
  for (const voice of speaks) select.append(new Option(label(voice), voice.id));
  if (fallback && preferred !== fallback) select.append(new Option(label(fallback), fallback.id));
  const group = document.createElement("optgroup");
  group.label = "espeak-ng variants";
  for (const variant of variants) group.append(new Option(variant, variant));
  select.append(group);
}
$("script-language").addEventListener("change", () => { if (state.voices) listVoices(); });

$("record").addEventListener("click", async () => {
  if (state.recorder) { state.recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    const recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (event) => chunks.push(event.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      state.recorded = new Blob(chunks, { type: recorder.mimeType });
      state.recorder = null;
      $("record").textContent = "Record";
      $("record-status").textContent = `Recorded ${(state.recorded.size / 1024).toFixed(0)} KB.`;
    };
    recorder.start();
    state.recorder = recorder;
    $("record").textContent = "Stop";
    $("record-status").textContent = "Recording...";
  } catch (error) {
    showError("The microphone is not available: " + error.message);
  }
});

$("voice-preview").addEventListener("click", async () => {
  clearError();
  const query = new URLSearchParams({ language: $("script-language").value });
  if ($("script-voice").value) query.set("voice", $("script-voice").value);
  try {
    await new Audio(await blobURL(`/v1/voices/preview?${query}`)).play();
  } catch (error) { report(error); }
});

$("avatar-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const file = $("avatar-file").files[0];
  if (!file) { showError("Choose a portrait first."); return; }
  try {
    await createAvatar(file);
    $("avatar-file").value = "";
    await loadAvatars();
    await loadSavedAvatars();
  } catch (error) { report(error); }
});

for (const id of ["expressiveness", "head-motion"]) {
  $(id).addEventListener("input", () => { $(id + "-value").textContent = Number($(id).value).toFixed(1); });
}

// ---- render ----

async function submission() {
  const options = {
    resolution: $("resolution").value, aspect: $("aspect").value, fps: Number($("fps").value),
    expressiveness: Number($("expressiveness").value), head_motion: Number($("head-motion").value),
  };
  const form = new FormData();
  const person = {};
  if (state.avatarId) person.avatar_id = state.avatarId;
  else if (state.stock) form.append("image", await (await fetch(state.stock.url)).blob(), state.stock.id);
  else throw new APIError(400, "invalid_parameter", "Choose a stock portrait, a saved avatar, or upload a portrait.");
  if (state.voice === "script") {
    const text = $("script-text").value.trim();
    if (!text) throw new APIError(400, "empty_text", "Type a script first.");
    const script = { text, language: $("script-language").value };
    if ($("script-voice").value) script.voice = $("script-voice").value;
    if (!form.has("image")) return { json: { ...options, ...person, script, burn_captions: $("burn-captions").checked } };
    form.append("script[text]", script.text);
    form.append("script[language]", script.language);
    if (script.voice) form.append("script[voice]", script.voice);
    form.append("burn_captions", String($("burn-captions").checked));
  } else {
    const file = $("audio-input").files[0] || state.recorded;
    if (!file) throw new APIError(400, "invalid_parameter", "Choose an audio file, record, or type a script.");
    form.append("audio", file, file.name || "recording.webm");
  }
  for (const [name, value] of Object.entries({ ...options, ...person })) form.append(name, String(value));
  return { form };
}

function setProgress(fraction, text) {
  $("progress").value = fraction;
  $("progress-text").textContent = text;
}

$("render").addEventListener("click", async () => {
  clearError();
  $("result").hidden = true;
  try {
    const body = await submission();
    $("render").disabled = true;
    setProgress(0, "Uploading...");
    const video = await api("/v1/videos", { method: "POST", ...body });
    state.job = video.id;
    $("cancel").hidden = false;
    await follow(video.id);
  } catch (error) {
    setProgress(0, "");
    report(error);
  } finally {
    $("render").disabled = false;
    $("cancel").hidden = true;
  }
});

$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  try { await api(`/v1/videos/${state.job}/cancel`, { method: "POST" }); } catch (error) { report(error); }
});

// Follows a job through its Server-Sent Events (read with fetch, which can send the key).
async function follow(id) {
  const response = await api(`/v1/videos/${id}/events`, { raw: true });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
      if (!data) continue;
      last = JSON.parse(data);
      if (last.status === "queued") setProgress(0, `Waiting in the queue (${last.queue_position ?? 0} ahead).`);
      else if (last.status === "processing") setProgress(last.progress, `Rendering: ${Math.round(last.progress * 100)} %`);
    }
  }
  if (!last) throw new APIError(500, "internal_error", "The progress stream ended early.");
  if (last.status === "completed") {
    setProgress(1, `Done: ${last.result.duration.toFixed(1)} s.`);
    await showResult(last);
  } else if (last.status === "canceled") {
    setProgress(0, "Canceled.");
  } else {
    setProgress(0, "Failed.");
    showError(last.error?.message || "The render failed.", last.error?.code);
  }
}

async function showResult(video) {
  const player = $("result-video");
  player.replaceChildren();
  player.src = await blobURL(`/v1/videos/${video.id}/content`);
  if (video.result.captions) {
    const track = document.createElement("track");
    track.kind = "captions";
    track.label = "Captions";
    track.srclang = (video.options?.script?.language || "en").slice(0, 2);
    track.default = true;
    track.src = await blobURL(`/v1/videos/${video.id}/captions.vtt`);
    player.append(track);
  }
  $("download-link").href = player.src;
  $("download-link").download = `${video.id}.mp4`;
  $("result").hidden = false;
}

// ---- avatars page ----

async function loadAvatars() {
  const list = await api("/v1/avatars");
  const holder = $("avatar-list");
  holder.replaceChildren();
  if (!list.data.length) holder.append(Object.assign(document.createElement("li"), { textContent: "No avatars yet." }));
  for (const avatar of list.data) {
    const item = document.createElement("li");
    item.className = "card";
    const img = document.createElement("img");
    img.alt = `Avatar ${avatar.id}`;
    blobURL(avatar.preview_url).then((url) => { img.src = url; }).catch(() => {});
    const text = document.createElement("p");
    text.textContent = `${avatar.kind === "video" ? "Video" : "Portrait"} ${avatar.id}, ${avatar.created_at.slice(0, 10)}`
      + (avatar.consent ? `, consent from ${avatar.consent.attested_by}` : ", no consent recorded");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete avatar ${avatar.id}`);
    remove.addEventListener("click", async () => {
      try { await api(`/v1/avatars/${avatar.id}`, { method: "DELETE" }); await loadAvatars(); await loadSavedAvatars(); }
      catch (error) { report(error); }
    });
    item.append(img, text, remove);
    holder.append(item);
  }
}

// ---- history page ----

async function loadHistory() {
  const page = await api(`/v1/videos?limit=10${state.cursor ? `&after=${state.cursor}` : ""}`);
  const holder = $("history-list");
  for (const video of page.data) {
    const item = document.createElement("li");
    const thumb = document.createElement("img");
    thumb.className = "thumb";
    thumb.alt = "";
    blobURL(`/v1/videos/${video.id}/poster`).then((url) => { thumb.src = url; }).catch(() => thumb.remove());
    item.append(thumb);
    const status = video.status === "failed" ? `failed: ${video.error?.message} (${video.error?.code})` : video.status;
    const duration = video.result ? `, ${video.result.duration.toFixed(1)} s` : "";
    const line = document.createElement("span");
    line.textContent = `${video.created_at.replace("T", " ").slice(0, 16)} · ${video.id} · ${status}${duration}`;
    item.append(line);
    if (video.status === "completed") {
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = "Play";
      open.setAttribute("aria-label", `Play ${video.id}`);
      open.addEventListener("click", async () => { location.hash = "make"; await showResult(video); });
      item.append(open);
    }
    holder.append(item);
  }
  state.cursor = page.next_cursor;
  $("history-more").hidden = !page.next_cursor;
}
$("history-more").addEventListener("click", () => loadHistory().catch(report));

// ---- start ----

renderStock();
$("api-key").value = credentials.key;
showPage(location.hash.slice(1) || "make");
if (credentials.key) useKey(credentials.key);
