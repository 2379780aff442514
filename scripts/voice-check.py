"""Listening tests for the voices, by script: every voice of a language speaks the same sentences
through `mouthpiece speak`; PocketSphinx's English model (from the pocketsphinx wheel) writes down
what it hears (word error rate against the text), and the speech is measured for what makes a
voice sound less mechanical: how much its pitch moves (the spread of F0 in semitones), its spectral
tilt (energy above 1 kHz against below, in dB) and how much of it is pause.

    .venv/bin/python scripts/voice-check.py [mouthpiece binary] [--voices festival-slt,espeak-ng]

Prints one line per voice and a JSON summary; exits 1 when the default English voice recognises
worse than espeak-ng's (the issue's bar)."""
import json, os, re, subprocess, sys, tempfile
import numpy as np
from pocketsphinx import Decoder

# Harvard sentences (IEEE 1969, lists 1-2): phonetically balanced, public domain.
SENTENCES = """The birch canoe slid on the smooth planks.
Glue the sheet to the dark blue background.
It is easy to tell the depth of a well.
These days a chicken leg is a rare dish.
Rice is often served in round bowls.
The juice of lemons makes fine punch.
The box was thrown beside the parked truck.
The hogs were fed chopped corn and garbage.
Four hours of steady work faced us.
A large size in stockings is hard to sell.
The boy was there when the sun rose.
A rod is used to catch pink salmon.
The source of the huge river is the clear spring.
Kick the ball straight and follow through.
Help the woman get back to her feet.
A pot of tea helps to pass the evening.
Smoky fires lack flame and heat.
The soft cushion broke the man's fall.
The salt breeze came across from the sea.
The girl at the booth sold fifty bonds.""".splitlines()


def words(text):
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def edits(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1]))
    return row[len(b)]


def samples(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return raw, np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768


def pitch(x, rate=16000):
    """F0 of each voiced 40 ms frame (autocorrelation, 70-400 Hz)."""
    out = []
    for start in range(0, len(x) - 640, 160):
        frame = x[start:start + 640] * np.hanning(640)
        if np.sqrt(np.mean(frame ** 2)) < 0.01:
            continue
        ac = np.correlate(frame, frame, "full")[639:]
        lo, hi = rate // 400, rate // 70
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.45 * ac[0]:
            out.append(rate / lag)
    return np.array(out)


def measure(x, rate=16000):
    f0 = pitch(x)
    spread = float(np.std(12 * np.log2(f0 / np.median(f0)))) if len(f0) > 10 else float("nan")
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    tilt = float(10 * np.log10(spectrum[freqs >= 1000].sum() / spectrum[(freqs > 60) & (freqs < 1000)].sum()))
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt(np.mean(frames ** 2, axis=1)) + 1e-9)
    pause = float(np.mean(level < level.max() - 35))
    return spread, tilt, pause


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = args[0] if args else ".build/release/mouthpiece"
    chosen = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--voices=")), None)
    listing = json.loads(subprocess.run([binary, "voices", "--json"], capture_output=True, check=True).stdout)
    voices = [v["id"] for v in listing["voices"] if v["available"] and ("en-us" in v["languages"] or v["languages"] == ["*"])]
    if chosen:
        voices = chosen.split(",")
    default = next((v["id"] for v in listing["voices"] if "en-us" in v["default_for"]), "espeak-ng")
    decoder = Decoder(samprate=16000, logfn=os.devnull)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for voice in voices:
            errors = total = 0
            spreads, tilts, pauses = [], [], []
            for k, sentence in enumerate(SENTENCES):
                path = os.path.join(folder, f"{voice}-{k}.wav")
                subprocess.run([binary, "speak", "--language", "en-us", "--voice", voice, "--text", sentence, "-o", path],
                               check=True, capture_output=True)
                raw, x = samples(path)
                decoder.start_utt()
                decoder.process_raw(raw, full_utt=True)
                decoder.end_utt()
                heard = decoder.hyp().hypstr if decoder.hyp() else ""
                errors += edits(words(sentence), words(heard))
                total += len(words(sentence))
                spread, tilt, pause = measure(x)
                spreads.append(spread)
                tilts.append(tilt)
                pauses.append(pause)
            results[voice] = {
                "word_error_rate": errors / total, "word_accuracy": 1 - errors / total,
                "pitch_spread_semitones": float(np.nanmedian(spreads)), "spectral_tilt_db": float(np.median(tilts)),
                "pause_fraction": float(np.median(pauses)), "sentences": len(SENTENCES), "words": total,
            }
            r = results[voice]
            print(f"{voice:14s} word accuracy {r['word_accuracy']:.3f} (WER {r['word_error_rate']:.3f}, {errors}/{total} words)"
                  f"  pitch spread {r['pitch_spread_semitones']:.2f} st  tilt {r['spectral_tilt_db']:.1f} dB"
                  f"  pause {r['pause_fraction']:.2f}" + ("  (default)" if voice == default else ""))
    print(json.dumps({"default": default, "voices": results}, indent=1))
    if default in results and "espeak-ng" in results:
        ok = results[default]["word_accuracy"] >= results["espeak-ng"]["word_accuracy"]
        print(f"default English voice {default}: word accuracy {'at least' if ok else 'BELOW'} espeak-ng's")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
