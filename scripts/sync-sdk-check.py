#!/usr/bin/env python3
"""Drives a Mouthpiece server with Sync.so's own Python SDK (`syncsdk` on PyPI), as their
quickstart does, changed only in the key and the base URL.

    .venv/bin/python scripts/sync-sdk-check.py BASE_URL KEY VIDEO_URL AUDIO_URL out.mp4

Prints one JSON object: the generation's id, the statuses seen, the output URL and duration, and
the size of the MP4 downloaded from that URL (saved to the last argument).
"""
import json
import sys
import time

import httpx
from sync import Sync
from sync.common import Audio, GenerationOptions, Video

base_url, api_key, video_url, audio_url, output = sys.argv[1:6]
report = {"statuses": []}

# Their quickstart, with our key and base URL.
client = Sync(base_url=base_url, api_key=api_key).generations
response = client.create(
    input=[Video(url=video_url), Audio(url=audio_url)],
    model="lipsync-2",
    options=GenerationOptions(sync_mode="cut_off"),
)
job_id = response.id
report["id"] = job_id
report["created_status"] = response.status
generation = client.get(job_id)
status = generation.status
deadline = time.time() + 240
while status not in ["COMPLETED", "FAILED"] and time.time() < deadline:
    report["statuses"].append(status)
    time.sleep(1)
    generation = client.get(job_id)
    status = generation.status
report["statuses"].append(status)
report["output_url"] = generation.output_url
report["output_duration"] = generation.output_duration
report["error"] = generation.error
report["listed"] = [g.id for g in client.list()]
if generation.output_url:
    with httpx.Client() as http:
        answer = http.get(generation.output_url)
        report["download_status"] = answer.status_code
        with open(output, "wb") as out:
            out.write(answer.content)
# A request their API would refuse: no video input.
try:
    client.create(input=[Audio(url=audio_url)], model="lipsync-2")
    report["missing_video"] = "accepted"
except Exception as error:  # the SDK raises ApiError (or a subclass) with the status code
    report["missing_video"] = getattr(error, "status_code", str(error))
print(json.dumps(report))
