"""The live page in a real browser (Debian's headless Chromium through Selenium) with Chromium's
fake microphone playing a WAV of real speech: start a session with a stock portrait, see the
stream play, switch the microphone on, and check from the video's own pixels that the mouth moves
while the audio plays (and far less while the avatar only listens); interrupt; end.

Usage: live-page-test.py BASE_URL API_KEY SPEECH_WAV SCREENSHOT_DIR
"""

import os
import sys
import time

os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

base, key, speech, shots = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), os.path.abspath(sys.argv[4])
os.makedirs(shots, exist_ok=True)
passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}" + (f" ({detail})" if detail != "" else ""))
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-audio-capture={speech}"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 60, poll_frequency=0.1)

# The mean absolute change of the mouth's pixels between samples 80 ms apart, over `seconds`.
MOUTH_MOTION = """
const [seconds, done] = [arguments[0], arguments[arguments.length - 1]];
const video = document.getElementById("stream");
const [x, y, w, h] = video.dataset.mouthBox.split(",").map(Number);
const canvas = document.createElement("canvas");
canvas.width = w; canvas.height = h;
const g = canvas.getContext("2d", { willReadFrequently: true });
let last = null, total = 0, count = 0;
const startFrames = video.getVideoPlaybackQuality().totalVideoFrames;
const timer = setInterval(() => {
  g.drawImage(video, x, y, w, h, 0, 0, w, h);
  const pixels = g.getImageData(0, 0, w, h).data;
  if (last) {
    let sum = 0;
    for (let i = 0; i < pixels.length; i += 4) sum += Math.abs(pixels[i] - last[i]) + Math.abs(pixels[i + 1] - last[i + 1]);
    total += sum / (pixels.length / 2); count += 1;
  }
  last = pixels;
}, 80);
setTimeout(() => {
  clearInterval(timer);
  done({ motion: count ? total / count : 0, frames: video.getVideoPlaybackQuality().totalVideoFrames - startFrames,
         time: video.currentTime });
}, seconds * 1000);
"""

try:
    driver.set_script_timeout(30)
    driver.get(base + "/live")
    check("the live page opens at /live", "live" in driver.title.lower(), driver.title)
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait.until(lambda d: "OK" in d.find_element(By.ID, "key-status").text)
    driver.find_element(By.ID, "start").click()
    wait.until(lambda d: d.execute_script(
        "const v = document.getElementById('stream'); return v.currentTime > 0.5 && !v.paused"))
    check("the stream plays (Media Source Extensions)", True)
    idle = driver.execute_async_script(MOUTH_MOTION, 1.5)
    check("frames arrive while the avatar listens", idle["frames"] >= 25, idle)
    driver.find_element(By.ID, "mic").click()
    wait.until(lambda d: "Speaking" in d.find_element(By.ID, "status").text)
    speaking = driver.execute_async_script(MOUTH_MOTION, 3)
    check("frames arrive while it speaks", speaking["frames"] >= 60, speaking)
    check("the mouth moves while the microphone's speech plays, far more than while it listens",
          speaking["motion"] > 2 * idle["motion"] and speaking["motion"] > 1.0,
          f"{speaking['motion']:.2f} against {idle['motion']:.2f} (mean change of the mouth's pixels)")
    driver.save_screenshot(os.path.join(shots, "live-speaking.png"))
    figures = driver.find_element(By.ID, "figures").text
    check("the page shows the session's figures", "Frames per second" in figures, figures.replace("\n", " "))
    driver.find_element(By.ID, "mic").click()
    driver.find_element(By.ID, "interrupt").click()
    driver.find_element(By.ID, "stop").click()
    wait.until(lambda d: "ended" in d.find_element(By.ID, "status").text)
    check("End ends the session", True)
    errors = driver.find_element(By.ID, "error-text").text
    check("no error shown", errors == "", errors)
finally:
    driver.quit()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
