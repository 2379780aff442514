"""MouthpieceVideoService: the pipeline's TTS audio goes to a Mouthpiece live session over its
WebSocket; the talking face comes back as fragmented MP4, is decoded with PyAV, and enters the
pipeline as `OutputImageRawFrame`s, with the stream's own audio (in step with the pictures) as
`TTSAudioRawFrame`s in place of the TTS audio it was given.

    avatar = MouthpieceVideoService(base_url="http://127.0.0.1:8080", api_key="mp_...", avatar_id="av_...")
    pipeline = Pipeline([transport.input(), stt, llm, tts, avatar, transport.output()])

Interruptions (`InterruptionFrame`, `UserStartedSpeakingFrame`) drop the speech the session still
holds at once (its `interrupt` control).
"""

import asyncio
import json
import queue
import threading

import aiohttp
import av
import numpy as np
import websockets
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from loguru import logger

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputImageRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class _Pipe:
    """A file PyAV reads the stream from, fed from the WebSocket; read blocks until bytes come."""

    def __init__(self):
        self._chunks = queue.Queue()
        self._held = b""
        self._closed = False

    def feed(self, data):
        self._chunks.put(data)

    def close(self):
        self._chunks.put(None)

    def read(self, size=-1):
        while not self._held and not self._closed:
            chunk = self._chunks.get()
            if chunk is None:
                self._closed = True
                break
            self._held = chunk
        if size < 0 or size >= len(self._held):
            out, self._held = self._held, b""
        else:
            out, self._held = self._held[:size], self._held[size:]
        return out


class MouthpieceVideoService(FrameProcessor):
    """A Mouthpiece live avatar: TTS audio in, synchronised video and audio frames out.

    Args:
        base_url: The Mouthpiece server (`mouthpiece serve`), e.g. ``http://127.0.0.1:8080``.
        api_key: An API key of that server.
        avatar_id: A portrait avatar of that key (or give ``image_url``).
        image_url: A portrait to use instead of an avatar.
        sample_rate: The session's audio rate, 16000 or 24000 (TTS audio is resampled to it).
        resolution: ``480p`` or ``720p``.
        fps: Frames per second of the stream (20, 24, 25 or 30).
        forward_silence: Also pass on the stream's audio while the avatar is idle (silence).
    """

    def __init__(self, *, base_url, api_key, avatar_id=None, image_url=None, sample_rate=16000,
                 resolution="480p", fps=25, forward_silence=False, **kwargs):
        super().__init__(**kwargs)
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._request = {"sample_rate": sample_rate, "resolution": resolution, "fps": fps}
        if avatar_id:
            self._request["avatar_id"] = avatar_id
        if image_url:
            self._request["image_url"] = image_url
        self._sample_rate = sample_rate
        self._forward_silence = forward_silence
        self._to_session = AudioResampler("s16", "mono", sample_rate)
        self._socket = None
        self._pipe = None
        self._receiver = None
        self._decoder = None
        self.session = None
        self.events = []

    # ---- the session ----

    async def _open(self):
        async with aiohttp.ClientSession() as http:
            async with http.post(self._base_url + "/v1/live/sessions", json=self._request,
                                 headers={"Authorization": f"Bearer {self._api_key}"}) as response:
                answer = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"Mouthpiece refused the live session: {answer}")
                self.session = answer
        url = self._base_url.replace("http", "ws", 1) + self.session["url"]
        self._socket = await websockets.connect(url, max_size=None)
        self._pipe = _Pipe()
        loop = asyncio.get_running_loop()
        self._decoder = threading.Thread(target=self._decode, args=(loop,), daemon=True)
        self._decoder.start()
        self._receiver = self.create_task(self._receive())

    async def _receive(self):
        try:
            async for message in self._socket:
                if isinstance(message, bytes):
                    self._pipe.feed(message)
                else:
                    event = json.loads(message)
                    self.events.append(event)
                    if event["type"] == "error":
                        logger.warning(f"Mouthpiece: {event.get('code')}: {event.get('message')}")
                    if event["type"] == "ended":
                        break
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._pipe.close()

    def _decode(self, loop):
        """Demuxes and decodes the stream (on its own thread: PyAV blocks) into pipeline frames."""
        try:
            # The codecs are in the init segment: nothing to probe ahead, so pictures come at once.
            container = av.open(self._pipe, mode="r", format="mp4",
                                options={"probesize": "4096", "analyzeduration": "0"})
            for frame in container.decode(video=0, audio=0):
                if isinstance(frame, av.VideoFrame):
                    image = frame.to_ndarray(format="rgb24")
                    out = OutputImageRawFrame(image=image.tobytes(), size=(frame.width, frame.height), format="RGB")
                    # Where the picture stands in the session's stream, in seconds.
                    out.media_time = frame.time
                else:
                    samples = frame.to_ndarray()
                    if samples.dtype != np.int16:
                        samples = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
                    if not self._forward_silence and not samples.any():
                        continue
                    out = TTSAudioRawFrame(audio=samples.tobytes(), sample_rate=frame.sample_rate, num_channels=1)
                asyncio.run_coroutine_threadsafe(self.push_frame(out), loop).result()
        except Exception as error:  # the stream ended early or was cut
            logger.debug(f"Mouthpiece stream ended: {error}")

    async def _send(self, data):
        if self._socket is not None:
            try:
                await self._socket.send(data)
            except websockets.exceptions.ConnectionClosed:
                pass

    async def _close(self, end):
        if self._socket is None:
            return
        if end:
            await self._send(json.dumps({"type": "end"}))
            if self._receiver:
                await self._receiver
            if self._decoder:
                await asyncio.to_thread(self._decoder.join, 10)
        await self._socket.close()
        if self._receiver:
            await self.cancel_task(self._receiver)
        self._socket = None

    # ---- the pipeline ----

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._open()
        elif isinstance(frame, TTSAudioRawFrame):
            # The session speaks it; what comes back replaces it.
            audio = AudioFrame.from_ndarray(
                np.frombuffer(frame.audio, dtype=np.int16).reshape(1, -1),
                format="s16", layout="mono" if frame.num_channels == 1 else "stereo")
            audio.sample_rate = frame.sample_rate
            for resampled in self._to_session.resample(audio):
                await self._send(resampled.to_ndarray().astype(np.int16).tobytes())
        elif isinstance(frame, (InterruptionFrame, UserStartedSpeakingFrame)):
            await self._send(json.dumps({"type": "interrupt"}))
            await self.push_frame(frame, direction)
        elif isinstance(frame, TTSStoppedFrame):
            await self.push_frame(frame, direction)
        elif isinstance(frame, EndFrame):
            await self._close(end=True)
            await self.push_frame(frame, direction)
        elif isinstance(frame, CancelFrame):
            await self._close(end=False)
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)
