"""A live session's client, written apart from the server (Python's `websockets`), as a voice agent
would be: makes an avatar (with consent), opens sessions, streams a WAV at real-time pace in 20 ms
PCM16 chunks, records the fragmented MP4 that comes back, and checks what issue 20 asks.

Usage: live-client.py BASE_URL API_KEY PORTRAIT WAV OUT_DIR [--sessions N] [--seconds S]
(--seconds: the single session's speech is the WAV repeated to that length; the sessions at once
speak it once.)

Prints one JSON object per session and `ok`/`FAIL` lines; exits 1 on a failed check. What is
checked here (the mouth from the stream's own pixels is measured by `mouthpiece eval` on the
recordings, by scripts/live-check.sh):
- the first fragment after the first audio chunk that plays it arrives within 300 ms;
- the stream keeps real-time pace (no growing lag over the run);
- `interrupt` makes the server say `interrupted` and the avatar `idle` within 100 ms of media time;
- a dropped connection frees its session (a new one can be opened at the limit).
"""

import asyncio
import json
import os
import sys
import time
import wave

import requests
import websockets

base, key, portrait, wav_path, out_dir = sys.argv[1:6]
sessions_wanted = int(sys.argv[sys.argv.index("--sessions") + 1]) if "--sessions" in sys.argv else 1
seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 0
os.makedirs(out_dir, exist_ok=True)
auth = {"Authorization": f"Bearer {key}"}
failed = 0


def check(name, condition, detail=""):
    global failed
    print(("ok   " if condition else "FAIL ") + name + (f" ({detail})" if detail else ""), flush=True)
    if not condition:
        failed += 1


def make_avatar():
    with open(portrait, "rb") as f:
        r = requests.post(
            base + "/v1/avatars", headers=auth,
            files={"image": (os.path.basename(portrait), f, "image/jpeg")},
            data={"consent[attested_by]": "Live Check", "consent[relation]": "rights_holder",
                  "consent[accepted]": "true"})
    r.raise_for_status()
    return r.json()["id"]


def open_session(avatar, sample_rate):
    r = requests.post(base + "/v1/live/sessions", headers=auth,
                      json={"avatar_id": avatar, "sample_rate": sample_rate, "fps": 25, "resolution": "720p"})
    return r


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "a mono PCM16 WAV"
        return w.getframerate(), w.readframes(w.getnframes())


async def stream(session, pcm, rate, name, interrupt_at=None, loop_to=0.0):
    """Streams `pcm` at real-time pace; returns the figures seen."""
    url = base.replace("http", "ws", 1) + session["url"]
    chunk = rate * 2 // 50  # 20 ms of PCM16
    total = len(pcm)
    if loop_to > 0:
        # Repeat the speech to last `loop_to` seconds.
        while len(pcm) < loop_to * rate * 2:
            pcm += pcm[:total]
        pcm = pcm[: int(loop_to * rate * 2) // 2 * 2]
    record = open(os.path.join(out_dir, name + ".mp4"), "wb")
    figures = {"name": name}
    events = []
    first_sent = None
    first_speaking = None
    sent_at = []
    fragments = 0
    arrivals = []
    async with websockets.connect(url, max_size=None) as ws:
        async def receive():
            nonlocal first_speaking, fragments
            async for message in ws:
                now = time.monotonic()
                if isinstance(message, bytes):
                    record.write(message)
                    fragments += 1
                    arrivals.append(now)
                    if first_sent is not None and first_speaking == "pending":
                        first_speaking = now
                else:
                    event = json.loads(message)
                    event["_at"] = now
                    events.append(event)
                    if event["type"] == "speaking" and first_speaking is None:
                        first_speaking = "pending"  # the next fragment is the first that plays it
                    if event["type"] == "ended":
                        return

        receiver = asyncio.create_task(receive())
        await asyncio.sleep(0.5)  # the avatar idles first, as an agent's would
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(pcm), chunk)):
            target = start + i * 0.02
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if first_sent is None:
                first_sent = time.monotonic()
            sent_at.append(time.monotonic())
            await ws.send(pcm[offset:offset + chunk])
            if interrupt_at is not None and i * 0.02 >= interrupt_at:
                figures["interrupt_sent_media"] = None
                await ws.send(json.dumps({"type": "interrupt"}))
                break
        # A moment of listening before the end, as an agent's turn ends.
        await asyncio.sleep(0.5)
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(receiver, timeout=60 + len(pcm) / rate / 2)
    record.close()
    if isinstance(first_speaking, float):
        figures["first_fragment_ms"] = round((first_speaking - first_sent) * 1000, 1)
    ended = [e for e in events if e["type"] == "ended"]
    figures["events"] = sorted({e["type"] for e in events})
    figures["fragments"] = fragments
    if ended:
        figures["server"] = ended[0].get("stats")
    # Pace: fragments should arrive at the frame rate; the lag of the last behind the media clock.
    if len(arrivals) > 10:
        span = arrivals[-1] - arrivals[1]
        figures["arrival_fps"] = round((len(arrivals) - 2) / span, 2) if span > 0 else None
        # Growing lag: media time sent minus wall time elapsed, first second against last second.
        media = [(i - 1) / 25 for i in range(1, len(arrivals))]
        lag = [arrivals[i] - arrivals[1] - media[i - 1] for i in range(1, len(arrivals))]
        figures["lag_first_s"] = round(sum(lag[:25]) / 25, 3)
        figures["lag_last_s"] = round(sum(lag[-25:]) / 25, 3)
    # End to end: from sending a piece of speech to receiving the fragment that plays it (frame n of
    # the speech plays the chunk sent 40 ms * n after the first), over the first and the last second.
    speaking = [e for e in events if e["type"] == "speaking"]
    if speaking and len(sent_at) > 100:
        start = round(speaking[0]["media_time"] * 25)
        delays = [arrivals[1 + start + n] - sent_at[2 * n] for n in range(len(sent_at) // 2)
                  if 1 + start + n < len(arrivals)]
        if len(delays) > 50:
            figures["delay_first_ms"] = round(sorted(delays[:25])[12] * 1000, 1)
            figures["delay_last_ms"] = round(sorted(delays[-25:])[12] * 1000, 1)
    interrupted = [e for e in events if e["type"] == "interrupted"]
    idle_after = [e for e in events if e["type"] == "idle" and interrupted and e["_at"] >= interrupted[0]["_at"]]
    if interrupted:
        figures["interrupted_media"] = interrupted[0].get("media_time")
        if idle_after:
            figures["idle_after_interrupt_ms"] = round(
                (idle_after[0]["media_time"] - interrupted[0]["media_time"]) * 1000, 1)
    return figures


async def main():
    rate, pcm = read_wav(wav_path)
    avatar = make_avatar()
    # One session, the whole speech: latency and pace.
    r = open_session(avatar, rate)
    check("a live session opens", r.status_code == 201, r.text[:200])
    session = r.json()
    single = await stream(session, pcm, rate, "single", loop_to=seconds)
    print(json.dumps(single), flush=True)
    check("the first fragment that plays the speech arrives within 300 ms of the first chunk",
          single.get("first_fragment_ms", 1e9) <= 300, single.get("first_fragment_ms"))
    check("no growing lag: the stream keeps the frame rate", single.get("lag_last_s", 9) - single.get("lag_first_s", 0) < 0.1,
          f"{single.get('lag_first_s')} -> {single.get('lag_last_s')} s behind the media clock")
    check("no growing lag: speech to its fragment, first second against last",
          single.get("delay_last_ms", 1e9) - single.get("delay_first_ms", 0) < 100,
          f"{single.get('delay_first_ms')} -> {single.get('delay_last_ms')} ms over "
          f"{single.get('server', {}).get('media_seconds')} s")
    check("speaking, idle and stats events arrive", {"speaking", "idle", "stats", "ended"} <= set(single["events"]),
          single["events"])

    # Barge-in: interrupt two seconds in.
    r = open_session(avatar, rate)
    barge = await stream(r.json(), pcm, rate, "interrupt", interrupt_at=2.0)
    print(json.dumps(barge), flush=True)
    check("interrupt: the avatar goes idle within 100 ms of media time",
          barge.get("idle_after_interrupt_ms", 1e9) <= 100, barge.get("idle_after_interrupt_ms"))

    # Several at once.
    if sessions_wanted > 1:
        opened = [open_session(avatar, rate).json() for _ in range(sessions_wanted)]
        results = await asyncio.gather(*[stream(s, pcm, rate, f"parallel{i}")
                                          for i, s in enumerate(opened)])
        for figures in results:
            print(json.dumps(figures), flush=True)
            server = figures.get("server") or {}
            check(f"{figures['name']}: in real time with {sessions_wanted} sessions at once",
                  server.get("dropped_frames", 1e9) <= 0.01 * server.get("frames", 0)
                  and figures.get("lag_last_s", 9) - figures.get("lag_first_s", 0) < 0.2,
                  f"dropped {server.get('dropped_frames')} of {server.get('frames')}, lag "
                  f"{figures.get('lag_first_s')} -> {figures.get('lag_last_s')}")

    # A dropped connection frees its session: fill the server (it runs --live-sessions N with N
    # the --sessions given), drop one connection, and the place is free again.
    held = [open_session(avatar, rate) for _ in range(sessions_wanted - 1)]
    check("sessions open up to the limit", all(h.status_code == 201 for h in held), [h.status_code for h in held])
    last = open_session(avatar, rate).json()
    url = base.replace("http", "ws", 1) + last["url"]
    ws = await websockets.connect(url, max_size=None)
    await asyncio.sleep(0.5)
    over = open_session(avatar, rate)
    check("one more than the limit is refused with 429", over.status_code == 429, over.status_code)
    ws.transport.abort()  # no close handshake: the connection is simply gone
    await asyncio.sleep(1.0)
    again = open_session(avatar, rate)
    check("after a dropped connection its place is free", again.status_code == 201, again.status_code)
    # A spent token is refused: the socket closes at once with 4401 and the reason.
    try:
        async with websockets.connect(url, max_size=None) as retry:
            await retry.recv()
        check("a spent token is refused", False)
    except websockets.exceptions.ConnectionClosed as refusal:
        check("a spent token is refused", refusal.rcvd is not None and refusal.rcvd.code == 4401,
              refusal.rcvd and f"{refusal.rcvd.code} {refusal.rcvd.reason}")
    # The sessions held are connected and ended at once, so that they do not wait out their tokens.
    for h in held + [again]:
        async with websockets.connect(base.replace("http", "ws", 1) + h.json()["url"], max_size=None) as w:
            await w.send(json.dumps({"type": "end"}))
            async for message in w:
                if isinstance(message, str) and json.loads(message)["type"] == "ended":
                    break
    sys.exit(1 if failed else 0)


asyncio.run(main())
