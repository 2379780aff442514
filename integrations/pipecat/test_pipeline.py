"""Mouthpiece in a real Pipecat pipeline: a TTS that plays a WAV of real speech (in 20 ms frames
at real-time pace), then MouthpieceVideoService, then a sink that keeps what reaches it. Checks
that the talking face comes back as image frames at the stream's rate and size, that the mouth
moves while the speech plays (far more than while the avatar idles), and that the stream's audio
comes back as long as the speech sent.

Usage: test_pipeline.py BASE_URL API_KEY PORTRAIT SPEECH_WAV
"""

import asyncio
import os
import sys
import time
import wave

import numpy as np
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pipecat.frames.frames import (  # noqa: E402
    OutputImageRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineWorker  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

from mouthpiece_pipecat import MouthpieceVideoService  # noqa: E402

base, key, portrait, speech = sys.argv[1:5]
IDLE = 1.5
failed = 0


def check(name, condition, detail=""):
    global failed
    print(("ok   " if condition else "FAIL ") + name + (f" ({detail})" if detail != "" else ""), flush=True)
    if not condition:
        failed += 1


class WavTTS(FrameProcessor):
    """A TTS whose voice is a WAV file: after a pause, its audio in 20 ms frames at real-time pace."""

    def __init__(self, path):
        super().__init__()
        with wave.open(path, "rb") as w:
            self.rate = w.getframerate()
            self.pcm = w.readframes(w.getnframes())
        self.duration = len(self.pcm) / 2 / self.rate

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.create_task(self._speak())

    async def _speak(self):
        await asyncio.sleep(IDLE)
        await self.push_frame(TTSStartedFrame())
        chunk = self.rate * 2 // 50
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(self.pcm), chunk)):
            delay = start + i * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.push_frame(TTSAudioRawFrame(audio=self.pcm[offset:offset + chunk], sample_rate=self.rate,
                                                   num_channels=1))
        await self.push_frame(TTSStoppedFrame())


class Sink(FrameProcessor):
    def __init__(self):
        super().__init__()
        self.images = []
        self.audio_samples = 0
        self.started = None

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started = time.monotonic()
        if isinstance(frame, OutputImageRawFrame):
            self.images.append((time.monotonic() - self.started, frame))
        elif isinstance(frame, TTSAudioRawFrame):
            self.audio_samples += len(frame.audio) // 2
            self.audio_rate = frame.sample_rate
        await self.push_frame(frame, direction)


async def main():
    with open(portrait, "rb") as f:
        r = requests.post(base + "/v1/avatars", headers={"Authorization": f"Bearer {key}"},
                          files={"image": (os.path.basename(portrait), f, "image/jpeg")},
                          data={"consent[attested_by]": "Pipecat Check", "consent[relation]": "rights_holder",
                                "consent[accepted]": "true"})
    r.raise_for_status()
    tts = WavTTS(speech)
    avatar = MouthpieceVideoService(base_url=base, api_key=key, avatar_id=r.json()["id"], resolution="480p")
    sink = Sink()
    worker = PipelineWorker(Pipeline([tts, avatar, sink]), idle_timeout_secs=None, enable_rtvi=False)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(IDLE + tts.duration + 1.0)
    await worker.stop_when_done()
    await asyncio.wait_for(running, 30)

    session = avatar.session
    images = sink.images
    ended = [e for e in avatar.events if e["type"] == "ended"]
    expected = ended[0]["stats"]["frames"] if ended else (IDLE + tts.duration) * session["fps"]
    check("the talking face comes back into the pipeline as image frames, every one the session made",
          len(images) >= expected - 2, f"{len(images)} frames of {expected}")
    if not images:
        sys.exit(1)
    check("at the stream's size", images[0][1].size == (session["width"], session["height"]), images[0][1].size)
    times = [f.media_time for _, f in images]
    check("from the stream's first picture on, none missing", times[0] == 0 and all(
        abs(b - a - 1 / session["fps"]) < 1e-3 for a, b in zip(times, times[1:])), f"{times[:2]} ... {times[-2:]}")
    x, y, w, h = session["mouth_box"]

    def mouth(frame):
        pixels = np.frombuffer(frame.image, dtype=np.uint8).reshape(frame.size[1], frame.size[0], 3)
        return pixels[y:y + h, x:x + w].astype(np.int32)

    def motion(frames):
        return np.mean([np.abs(mouth(b) - mouth(a)).mean() for a, b in zip(frames, frames[1:])])

    # Frames by their place in the stream: the idle lead-in, then the speech (from the session's
    # `speaking` event).
    fps = session["fps"]
    spoke = next(e["media_time"] for e in avatar.events if e["type"] == "speaking")
    idle = [f for _, f in images if 0.1 <= f.media_time < spoke - 0.05]
    speaking = [f for _, f in images if spoke + 0.1 <= f.media_time < spoke + tts.duration]
    check("the avatar idled before it spoke", len(idle) >= 8, f"{len(idle)} frames")
    idle_motion, speaking_motion = motion(idle), motion(speaking)
    check("the mouth moves while the speech plays, far more than while the avatar idles",
          speaking_motion > 2 * idle_motion, f"{speaking_motion:.2f} against {idle_motion:.2f}")
    returned = sink.audio_samples / getattr(sink, "audio_rate", 16000)
    check("the stream's audio comes back as long as the speech", abs(returned - tts.duration) < 0.5,
          f"{returned:.2f} s of {tts.duration:.2f} s")
    check("the session spoke and went idle", {"speaking", "idle"} <= {e["type"] for e in avatar.events},
          sorted({e["type"] for e in avatar.events}))
    sys.exit(1 if failed else 0)


asyncio.run(main())
