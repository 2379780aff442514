#!/usr/bin/env python3
"""Writes the committed malformed-input seed corpus, Tests/Corpus/{image,audio,json}/.

The seeds are small, hand-made hostile or broken inputs (and a few valid ones, which the
runners mutate). Tests/MediaTests/MalformedCorpusTests.swift feeds every seed, and seeded
mutations of each, to the image and audio decoders; Tests/ServiceTests/HardeningTests.swift
posts the JSON seeds and multipart forms built from the others to the service and runs the
command line on them. Run again only to add seeds: `python3 scripts/make-corpus.py` (uses the
`ffmpeg` tool for the JPEG, WebP, MP3 and Ogg seeds). The same files each time, but for the
Ogg stream serial numbers.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Corpus")


def write(kind, name, data):
    path = os.path.join(ROOT, kind, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- images -------------------------------------------------------------------------------


def png_chunk(kind, data, crc=None):
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def png(width, height, depth=8, color=2, rows=None, extra=b"", bad_crc=False):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    if rows is None:
        row = b"\0" + bytes((x * 7 + depth) % 256 for x in range(width * channels * depth // 8))
        rows = row * height
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr, crc=0xDEADBEEF if bad_crc else None)
        + extra
        + png_chunk(b"IDAT", zlib.compress(rows, 9))
        + png_chunk(b"IEND", b"")
    )


def images():
    valid = png(16, 16)
    write("image", "valid-16x16.png", valid)
    write("image", "valid-16bit-rgba-8x8.png", png(8, 8, depth=16, color=6))
    write("image", "empty.png", b"")
    write("image", "text.png", b"this is not a picture\n")
    write("image", "png-signature-only.png", b"\x89PNG\r\n\x1a\n")
    write("image", "png-truncated.png", valid[: len(valid) // 2])
    write("image", "png-bad-crc.png", png(16, 16, bad_crc=True))
    write("image", "png-zero-size.png", png(0, 0, rows=b""))
    write("image", "png-16000x16000-header.png", png(16000, 16000, rows=b"\0" * 64))
    write("image", "png-1x4000000.png", png(1, 4_000_000, rows=b"\0\0\0\0" * 1000))
    write("image", "png-2147483647-wide.png", png(2**31 - 1, 1, rows=b"\0" * 16))
    write("image", "png-palette-without-plte.png", png(16, 16, color=3))
    write("image", "png-bad-depth.png", png(16, 16, depth=3))
    write("image", "png-idat-missing.png", valid[:33] + png_chunk(b"IEND", b""))
    # A decompression bomb: a 6000x6000 greyscale image of zeros, about 40 kB compressed.
    write("image", "png-bomb-6000.png", png(6000, 6000, color=0, rows=(b"\0" * 6001) * 6000))
    # JPEG markers alone: a frame header claiming 65535x65535, and a start of image with nothing.
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65535, 65535, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    write("image", "jpeg-sof-65535.jpg", b"\xff\xd8" + sof + b"\xff\xd9")
    write("image", "jpeg-soi-only.jpg", b"\xff\xd8")
    write("image", "jpeg-zero-size-sof.jpg", b"\xff\xd8" + b"\xff\xc0" + struct.pack(">HBHHB", 8, 8, 0, 0, 0) + b"\xff\xd9")
    write("image", "jpeg-segment-length-overrun.jpg", b"\xff\xd8\xff\xe0\xff\xff" + b"JFIF\0" * 4)
    # WebP: an extended header claiming a 16384x16384 canvas; a RIFF size past the end.
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    write("image", "webp-vp8x-16384.webp", b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x)
    write("image", "webp-riff-overrun.webp", b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WEBPVP8 " + b"\0" * 12)
    write("image", "gif-1x1.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
          b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    write("image", "bmp-huge-header.bmp", b"BM" + struct.pack("<IHHIIiiHHIIiiII", 54, 0, 0, 54, 40, 100000, 100000,
                                                             1, 24, 0, 0, 0, 0, 0, 0))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.png")
        with open(src, "wb") as f:
            f.write(png(32, 32))
        for name, args in [("valid-32x32.jpg", ["-q:v", "5"]), ("valid-32x32.webp", ["-c:v", "libwebp"])]:
            out = os.path.join(tmp, name)
            ffmpeg(["-i", src] + args + [out])
            with open(out, "rb") as f:
                data = f.read()
            write("image", name, data)
            write("image", "truncated-" + name, data[: len(data) * 2 // 3])


# ---- audio --------------------------------------------------------------------------------


def wav(samples, rate=16000, fmt=1, bits=16, channels=1, data_size=None, riff_size=None):
    if fmt == 3:
        body = b"".join(struct.pack("<f", s) for s in samples)
    elif bits == 16:
        body = b"".join(struct.pack("<h", max(-32768, min(32767, int(s * 32767)))) for s in samples)
    else:
        body = bytes(int((s + 1) * 127.5) for s in samples)
    size = len(body) if data_size is None else data_size
    block = max(1, channels * bits // 8)
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + size if riff_size is None else riff_size, b"WAVE",
                         b"fmt ", 16, fmt, channels, rate, rate * block, block, bits, b"data", size)
    return header + body


def tone(seconds, rate=16000):
    return [0.3 * math.sin(2 * math.pi * 220 * n / rate) * (0.5 + 0.5 * math.sin(n / 900)) for n in range(int(seconds * rate))]


def audio():
    one = tone(1.0)
    write("audio", "valid-1s-pcm16.wav", wav(one))
    write("audio", "valid-1s-8bit-7919hz.wav", wav(tone(1.0, 7919), rate=7919, bits=8))
    for name, poison in [("nan", float("nan")), ("inf", float("inf")), ("minus-inf", float("-inf")), ("3e38", 3e38)]:
        samples = list(one)
        samples[8000] = poison
        write("audio", "float-" + name + ".wav", wav(samples, fmt=3, bits=32))
    write("audio", "empty.wav", b"")
    write("audio", "text.wav", b"RIFF? no, words.\n")
    write("audio", "wav-header-only-claims-1gb.wav", wav([], data_size=1 << 30))
    write("audio", "wav-zero-channels.wav", wav(one[:4000], channels=0))
    write("audio", "wav-zero-rate.wav", wav(one[:4000], rate=0))
    write("audio", "wav-4000000-hz.wav", wav(one[:4000], rate=4_000_000))
    write("audio", "wav-255-channels.wav", wav(one[:4080], channels=255))
    write("audio", "tolerated-riff-size-zero.wav", wav(one[:8000], riff_size=0))
    write("audio", "wav-truncated.wav", wav(one)[:3000])
    write("audio", "wav-too-short-0.1s.wav", wav(one[:1600]))
    write("audio", "wav-silence-1s.wav", wav([0.0] * 16000))
    write("audio", "mp3-id3-then-garbage.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(range(256)) * 4)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.wav")
        with open(src, "wb") as f:
            f.write(wav(one))
        for name, args in [("valid-1s.mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
                           ("valid-1s.ogg", ["-c:a", "libvorbis", "-q:a", "0"])]:
            out = os.path.join(tmp, name)
            ffmpeg(["-i", src] + args + [out])
            with open(out, "rb") as f:
                data = f.read()
            write("audio", name, data)
            write("audio", "truncated-" + name, data[: len(data) // 3])


# ---- JSON bodies for POST /v1/videos --------------------------------------------------------


def bodies():
    """Each seed is a body the service must refuse with a 4xx and an error code."""
    tiny_png = "data:image/png;base64,iVBORw0KGgo="
    seeds = {
        "empty": b"",
        "null": b"null",
        "array": b"[]",
        "string": b'"hello"',
        "unterminated": b'{"image_url": "http://example.invalid/a.png"',
        "nested-100000-arrays": b"[" * 100000 + b"]" * 100000,
        "nested-20000-objects": b'{"a":' * 20000 + b"1" + b"}" * 20000,
        "lone-surrogate": b'{"image_url": "\\ud800", "audio_url": "\\udfff"}',
        "invalid-utf8": b'{"image_url": "\xff\xfe\xfd"}',
        "nul-bytes": b'{"image_url\x00": "a"}',
        "number-1e400": b'{"fps": 1e400, "image_url": "https://example.invalid/a.png", "audio_url": "https://example.invalid/a.wav"}',
        "fps-negative": json.dumps({"fps": -30, "image_url": tiny_png, "audio_url": tiny_png}).encode(),
        "fps-huge-int": b'{"fps": 99999999999999999999999999, "image_url": "x", "audio_url": "y"}',
        "seed-negative": b'{"seed": -1, "image_url": "x", "audio_url": "y"}',
        "face-index-max": b'{"face_index": 9223372036854775807, "image_url": "x", "audio_url": "y"}',
        "resolution-unknown": json.dumps({"resolution": "99999p", "image_url": tiny_png, "audio_url": tiny_png}).encode(),
        "expressiveness-string": b'{"expressiveness": "NaN", "image_url": "x", "audio_url": "y"}',
        "wrong-types": b'{"image_url": 7, "audio_url": [1], "fps": "thirty", "burn_captions": "yes"}',
        "nothing-to-render": b"{}",
        "both-audio-and-script": json.dumps({"image_url": tiny_png, "audio_url": tiny_png,
                                             "script": {"text": "hi"}}).encode(),
        "file-url": b'{"image_url": "file:///etc/passwd", "audio_url": "file:///etc/passwd"}',
        "gopher-url": b'{"image_url": "gopher://127.0.0.1:25/", "audio_url": "https://example.invalid/a.wav"}',
        "loopback-url": b'{"image_url": "http://127.0.0.1:1/a.png", "audio_url": "http://[::1]:1/a.wav"}',
        "decimal-ip-url": b'{"image_url": "http://2130706433/a.png", "audio_url": "http://0x7f.1/a.wav"}',
        "metadata-url": b'{"image_url": "http://169.254.169.254/latest/meta-data/", "audio_url": "http://[::ffff:10.0.0.1]/"}',
        "ipv4-compatible-url": b'{"image_url": "http://[::127.0.0.1]/a.png", "audio_url": "http://[::127.0.0.1]/a.wav"}',
        "userinfo-url": b'{"image_url": "http://user:pw@127.0.0.1/a.png", "audio_url": "http://example.invalid@127.0.0.1/"}',
        "data-uri-bad-base64": b'{"image_url": "data:image/png;base64,@@@@", "audio_url": "data:audio/wav;base64,!!"}',
        "data-uri-not-base64": b'{"image_url": "data:image/png,abc", "audio_url": "data:,"}',
        "data-uri-text-picture": json.dumps({"image_url": "data:image/png;base64,aGVsbG8gd29ybGQ=",
                                             "audio_url": "data:audio/wav;base64,aGVsbG8gd29ybGQ="}).encode(),
        "webhook-loopback": json.dumps({"image_url": tiny_png, "audio_url": tiny_png,
                                        "webhook_url": "http://localhost:9/hook"}).encode(),
        "webhook-not-url": json.dumps({"image_url": tiny_png, "audio_url": tiny_png, "webhook_url": "::::"}).encode(),
        "avatar-traversal": b'{"avatar_id": "../../../../etc/passwd", "audio_url": "https://example.invalid/a.wav"}',
        "avatar-unknown": b'{"avatar_id": "ava_doesnotexist", "script": {"text": "Hello."}}',
        "script-empty": json.dumps({"image_url": tiny_png, "script": {"text": ""}}).encode(),
        "script-too-long": json.dumps({"image_url": tiny_png, "script": {"text": "la " * 4000}}).encode(),
        "script-language-unknown": json.dumps({"image_url": tiny_png,
                                               "script": {"text": "Hello.", "language": "xx-nowhere"}}).encode(),
        "script-rate-absurd": json.dumps({"image_url": tiny_png,
                                          "script": {"text": "Hello.", "rate": 100000, "pitch": -5}}).encode(),
        "script-wrong-type": b'{"image_url": "x", "script": "Hello."}',
        "unicode-controls": json.dumps({"image_url": "\u202e\u0000\u200b", "audio_url": "\ufeff"}).encode(),
        "duplicate-keys": b'{"image_url": "a", "image_url": "b", "audio_url": "c"}',
        "long-key": b'{"' + b"k" * 100000 + b'": 1}',
    }
    for name, data in seeds.items():
        write("json", name + ".json", data)


def ffmpeg(args):
    subprocess.run(["ffmpeg", "-v", "error", "-y"] + args, check=True)


if __name__ == "__main__":
    images()
    audio()
    bodies()
    count = sum(len(files) for _, _, files in os.walk(ROOT))
    print(f"{count} seeds in {os.path.normpath(ROOT)}", file=sys.stderr)
