// The live page: a session opened with POST /v1/live/sessions, its WebSocket streamed into a
// <video> through Media Source Extensions, the microphone sent as PCM16 in 20 ms chunks, texts
// sent to be spoken. Everything is same-origin.

import { $, STOCK, api, clearError, credentials, report } from "/studio/common.js";

const live = { stock: STOCK[0], socket: null, source: null, buffer: null, queue: [], mic: null, session: null,
  speaking: false };

// ---- the key and the avatar ----

async function useKey(key) {
  credentials.key = key.trim();
  clearError();
  try {
    const list = await api("/v1/avatars");
    localStorage.setItem("mouthpiece.key", credentials.key);
    $("key-status").textContent = "Key OK.";
    const select = $("saved-avatar");
    select.replaceChildren(new Option("None", ""));
    for (const avatar of list.data.filter((a) => a.kind !== "video")) {
      select.append(new Option(`Portrait ${avatar.id} (${avatar.created_at.slice(0, 10)})`, avatar.id));
    }
  } catch (error) {
    $("key-status").textContent = "";
    report(error);
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useKey($("api-key").value);
});

function renderStock() {
  for (const item of STOCK) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "stock";
    button.dataset.stock = item.id;
    button.setAttribute("aria-pressed", String(item === live.stock));
    const img = document.createElement("img");
    img.src = item.url;
    img.alt = "";
    button.append(img, document.createTextNode(item.name));
    button.addEventListener("click", () => {
      live.stock = item;
      $("saved-avatar").value = "";
      for (const b of document.querySelectorAll("#stock button")) {
        b.setAttribute("aria-pressed", String(b.dataset.stock === item.id));
      }
    });
    $("stock").append(button);
  }
}

$("saved-avatar").addEventListener("change", () => {
  if (!$("saved-avatar").value) return;
  live.stock = null;
  for (const b of document.querySelectorAll("#stock button")) b.setAttribute("aria-pressed", "false");
});

// ---- the session ----

function setStatus(text) { $("status").textContent = text; }

function setRunning(running) {
  $("start").disabled = running;
  for (const id of ["stop", "mic", "interrupt", "say"]) $(id).disabled = !running;
}

async function start() {
  clearError();
  const form = new FormData();
  if ($("saved-avatar").value) form.append("avatar_id", $("saved-avatar").value);
  else if (live.stock) form.append("image", await (await fetch(live.stock.url)).blob(), live.stock.id);
  form.append("resolution", $("resolution").value);
  form.append("sample_rate", "16000");
  setStatus("Preparing the avatar...");
  const session = await api("/v1/live/sessions", { method: "POST", form });
  live.session = session;
  if (!window.MediaSource || !MediaSource.isTypeSupported(session.mime)) {
    throw new Error(`This browser cannot play ${session.mime} through Media Source Extensions.`);
  }
  const source = new MediaSource();
  live.source = source;
  live.queue = [];
  const video = $("stream");
  video.dataset.mouthBox = session.mouth_box.join(",");
  video.style.aspectRatio = `${session.width} / ${session.height}`;
  video.src = URL.createObjectURL(source);
  await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
  live.buffer = source.addSourceBuffer(session.mime);
  live.buffer.mode = "segments";
  live.buffer.addEventListener("updateend", pump);

  const url = new URL(session.url, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  live.socket = socket;
  socket.addEventListener("message", (message) => {
    if (typeof message.data === "string") onEvent(JSON.parse(message.data));
    else { live.queue.push(message.data); pump(); }
  });
  socket.addEventListener("close", () => {
    stopMic();
    setRunning(false);
    if (live.source && live.source.readyState === "open" && !live.buffer.updating) live.source.endOfStream();
    setStatus("Session ended.");
  });
  socket.addEventListener("error", () => report(new Error("The live connection failed.")));
  setRunning(true);
  setStatus("Listening.");
  video.play().catch(() => {});
}

// Appends what arrived, one piece at a time; keeps the picture near the live edge.
function pump() {
  const buffer = live.buffer;
  if (!buffer || buffer.updating) return;
  const video = $("stream");
  if (video.buffered.length > 0) {
    const end = video.buffered.end(video.buffered.length - 1);
    if (end - video.currentTime > 0.6) video.currentTime = end - 0.15;
    // Old pictures are let go, so that a long session does not fill the browser's memory.
    const start = video.buffered.start(0);
    if (video.currentTime - start > 30) {
      buffer.remove(start, video.currentTime - 10);
      return;
    }
  }
  if (live.queue.length === 0) return;
  try {
    buffer.appendBuffer(live.queue.shift());
  } catch (error) {
    report(error);
  }
}

function onEvent(event) {
  switch (event.type) {
    case "speaking": live.speaking = true; setStatus("Speaking."); break;
    case "idle": live.speaking = false; setStatus("Listening."); break;
    case "interrupted": setStatus("Interrupted."); break;
    case "stats": showFigures(event.stats); break;
    case "error": report(Object.assign(new Error(event.message), { code: event.code })); break;
    case "ended": if (event.stats) showFigures(event.stats); break;
  }
}

function showFigures(stats) {
  const rows = [
    ["Frames", stats.frames],
    ["Frames per second", stats.fps.toFixed(1)],
    ["Dropped", stats.dropped_frames],
    ["First picture after speech", stats.first_fragment_ms != null ? `${Math.round(stats.first_fragment_ms)} ms` : "-"],
    ["Audio to picture", `${Math.round(stats.stream_delay_ms)} ms`],
  ];
  $("figures").replaceChildren(...rows.flatMap(([name, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    dd.dataset.figure = name;
    return [dt, dd];
  }));
}

function send(control) {
  if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify(control));
}

// ---- the microphone ----

async function startMic() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  const context = new AudioContext({ sampleRate: live.session.sample_rate });
  await context.audioWorklet.addModule("/studio/live-mic.js");
  const node = new AudioWorkletNode(context, "pcm16-chunker");
  node.port.onmessage = (message) => {
    if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(message.data);
  };
  context.createMediaStreamSource(stream).connect(node);
  live.mic = { stream, context };
  $("mic").setAttribute("aria-pressed", "true");
  $("mic").textContent = "Microphone off";
  // The avatar speaks with your voice: the page's own sound is muted so it does not echo.
  $("stream").muted = true;
}

function stopMic() {
  if (!live.mic) return;
  for (const track of live.mic.stream.getTracks()) track.stop();
  live.mic.context.close();
  live.mic = null;
  $("mic").setAttribute("aria-pressed", "false");
  $("mic").textContent = "Microphone on";
}

$("start").addEventListener("click", () => start().catch((error) => { setStatus("Not started."); report(error); }));
$("stop").addEventListener("click", () => { stopMic(); send({ type: "end" }); });
$("interrupt").addEventListener("click", () => send({ type: "interrupt" }));
$("mic").addEventListener("click", () => {
  if (live.mic) stopMic();
  else startMic().catch(report);
});
$("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("stream").muted = false;
  send({ type: "say", text: $("say-text").value, language: $("say-language").value.trim() || "en-us" });
});

renderStock();
$("api-key").value = credentials.key;
if (credentials.key) useKey(credentials.key);
