#!/usr/bin/env python3
"""Drives a Mouthpiece server with the real `fal_client` package, as a fal user's code would.

    FAL_KEY=<mouthpiece key> FAL_QUEUE_RUN_HOST=127.0.0.1:8443 SSL_CERT_FILE=cert.pem \\
        .venv/bin/python scripts/fal-client-check.py portrait.png speech.wav out.mp4

Prints one JSON object: the subscribe result's video URL, what submit/status/result/cancel gave,
and the size of the MP4 downloaded from that URL (saved to the third argument).
"""
import json
import os
import socket
import sys
import time

import fal_client
import httpx

image_path, audio_path, output = sys.argv[1:4]
host, port = os.environ["FAL_QUEUE_RUN_HOST"].split(":")
for _ in range(150):
    try:
        socket.create_connection((host, int(port)), 0.2).close()
        break
    except OSError:
        time.sleep(0.2)

image = fal_client.encode_file(image_path)
audio = fal_client.encode_file(audio_path)
report = {}

# The line a Kling user already has.
result = fal_client.subscribe(
    "fal-ai/kling-video/v2.6/pro/image-to-video",
    arguments={"image_url": image, "audio_url": audio, "duration": "10", "aspect_ratio": "16:9"},
    with_logs=True,
)
report["url"] = result["video"]["url"]
report["video"] = result["video"]
report["duration"] = result["duration"]
with httpx.Client(verify=os.environ.get("SSL_CERT_FILE", True)) as client:
    response = client.get(report["url"])
    report["download_status"] = response.status_code
    with open(output, "wb") as out:
        out.write(response.content)
    # The same link with another token: refused.
    parts = report["url"].split("/")
    parts[-2] = "0" * len(parts[-2])
    report["forged_status"] = client.get("/".join(parts)).status_code

# submit + status + result, then submit + cancel.
handle = fal_client.submit(
    "fal-ai/kling-video/ai-avatar/v2/standard", arguments={"image_url": image, "audio_url": audio}
)
report["submitted"] = handle.request_id
statuses = []
while True:
    status = handle.status(with_logs=True)
    statuses.append(type(status).__name__)
    if isinstance(status, fal_client.Completed):
        break
    time.sleep(0.2)
report["statuses"] = sorted(set(statuses))
report["result_url"] = handle.get()["video"]["url"]
# The status stream (Server-Sent Events) of a finished request: its last event is COMPLETED.
with httpx.Client(verify=os.environ.get("SSL_CERT_FILE", True)) as client:
    stream = client.get(
        handle.status_url + "/stream", headers={"Authorization": "Key " + os.environ["FAL_KEY"]}
    )
    events = [line[5:].strip() for line in stream.text.splitlines() if line.startswith("data:")]
    report["stream_last"] = json.loads(events[-1])["status"] if events else None

# Cancel one while it waits behind another (one render worker in the test).
blocker = fal_client.submit(
    "fal-ai/kling-video/ai-avatar/v2/pro", arguments={"image_url": image, "audio_url": audio}
)
doomed = fal_client.submit(
    "fal-ai/kling-video/ai-avatar/v2/standard", arguments={"image_url": image, "audio_url": audio}
)
doomed.cancel()
blocker.get()
try:
    doomed.get()
    report["canceled"] = "no error"
except fal_client.client.FalClientHTTPError as error:
    report["canceled"] = error.status_code

# fal_webhook (optional: FAL_CHECK_WEBHOOK names a receiver).
if os.environ.get("FAL_CHECK_WEBHOOK"):
    hooked = fal_client.submit(
        "fal-ai/kling-video/ai-avatar/v2/standard",
        arguments={"image_url": image, "audio_url": audio},
        webhook_url=os.environ["FAL_CHECK_WEBHOOK"],
    )
    report["webhook_request"] = hooked.request_id
    hooked.get()

# Kling's lip-sync (optional: FAL_CHECK_VIDEO names a video of a person): video_url + audio_url.
if os.environ.get("FAL_CHECK_VIDEO"):
    synced = fal_client.subscribe(
        "fal-ai/kling-video/lipsync/audio-to-video",
        arguments={"video_url": fal_client.encode_file(os.environ["FAL_CHECK_VIDEO"]), "audio_url": audio},
    )
    report["lipsync_url"] = synced["video"]["url"]
    report["lipsync_duration"] = synced["duration"]

# A bad input: the client's own error type, with the field.
try:
    fal_client.subscribe("fal-ai/kling-video/ai-avatar/v2/pro", arguments={"image_url": image})
    report["missing_audio"] = "no error"
except fal_client.client.FalClientHTTPError as error:
    report["missing_audio"] = error.status_code
print(json.dumps(report))
