"""The web studio in a real browser (Debian's headless Chromium through Selenium), as a new user
would use it: enter a key, upload a portrait with consent and a WAV, render, watch the video play;
type a Spanish script and render it with captions; try the dog photo and read the error; take
screenshots at 1280x800 and 390x844; check nothing is loaded from outside the server.

Usage: studio-test.py BASE_URL API_KEY FIXTURES_DIR SCREENSHOT_DIR
"""

import os
import sys
import time
import wave

os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

base, key, fixtures, shots = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), os.path.abspath(sys.argv[4])
os.makedirs(shots, exist_ok=True)
passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                 # Chromium's test camera (a moving pattern, no face) instead of a device.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 120, poll_frequency=0.25)


def testid(name):
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def error_text():
    box = testid("error")
    return driver.find_element(By.ID, "error-text").text if box.is_displayed() else ""


def click(element_id):
    element = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def wait_for_video():
    """Waits for the result video to load and play; returns its duration."""
    wait.until(lambda d: testid("result-video").is_displayed() or error_text())
    video = testid("result-video")
    wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 2", video))
    driver.execute_script("arguments[0].muted = true; return arguments[0].play()", video)
    time.sleep(1.0)
    playing = driver.execute_script("return arguments[0].currentTime > 0 && !arguments[0].paused", video)
    return driver.execute_script("return arguments[0].duration", video), playing


try:
    driver.get(base + "/")
    check("the studio opens at /", "Mouthpiece" in driver.title, driver.title)

    # A wrong key is said to be wrong.
    testid("api-key").send_keys("mp_not_a_key")
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait.until(lambda d: error_text())
    check("a wrong key gets a clear error", "unauthorized" in error_text(), error_text())

    testid("api-key").clear()
    testid("api-key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait.until(lambda d: "Key OK" in d.find_element(By.ID, "key-status").text)
    check("the key is accepted", True)

    # Portrait with consent, then a WAV: a video as long as the audio, playing.
    driver.find_element(By.ID, "consent-name").send_keys("Studio Test")
    Select(driver.find_element(By.ID, "consent-relation")).select_by_value("rights_holder")
    driver.find_element(By.ID, "consent-accepted").click()
    testid("portrait-input").send_keys(os.path.join(fixtures, "Tom_Cruise_avp_2014_4.jpg"))
    wait.until(lambda d: "Face found" in d.find_element(By.ID, "analysis-text").text or error_text())
    check("the portrait is analysed", "Face found" in driver.find_element(By.ID, "analysis-text").text,
          error_text())
    speech = os.path.join(fixtures, "speech", "en_ljspeech_read.wav")
    with wave.open(speech) as w:
        audio_seconds = w.getnframes() / w.getframerate()
    testid("audio-input").send_keys(speech)
    Select(driver.find_element(By.ID, "resolution")).select_by_visible_text("480p")
    testid("render-button").click()
    duration, playing = wait_for_video()
    check("portrait + audio -> a video as long as the audio", abs(duration - audio_seconds) < 0.1,
          f"{duration} vs {audio_seconds}")
    check("the video plays in the page", playing)
    check("a download link is given", testid("download-link").get_attribute("href").startswith("blob:"))
    driver.save_screenshot(os.path.join(shots, "studio-1280x800.png"))

    # A Spanish script, with captions.
    driver.find_element(By.ID, "tab-script").click()
    testid("script-text").send_keys("Hola, me llamo Ana. Hoy hablamos de la luna y de las estrellas.")
    wait.until(lambda d: len(Select(testid("script-language")).options) > 10)
    # The voice list follows the language: Japanese offers Open JTalk's voice by default, as
    # GET /v1/voices and `mouthpiece voices` list it.
    Select(testid("script-language")).select_by_value("ja")
    voices = [o.text for o in Select(testid("script-voice")).options]
    check("the voices follow the language (Japanese: openjtalk-mei by default)",
          voices[0].startswith("Default: openjtalk-mei") and any("espeak-ng" in v for v in voices), str(voices[:4]))
    Select(testid("script-language")).select_by_value("es")
    testid("render-button").click()
    wait.until(lambda d: d.execute_script(
        "const v = arguments[0]; return v.querySelector('track') !== null && v.readyState >= 2",
        testid("result-video")) or error_text())
    duration, playing = wait_for_video()
    cues = driver.execute_script(
        "const t = arguments[0].textTracks[0]; if (!t) return 0; t.mode = 'showing';"
        "return new Promise(r => setTimeout(() => r(t.cues ? t.cues.length : 0), 1000))", testid("result-video"))
    check("script + language -> a playing video with captions", playing and cues > 0,
          f"playing={playing} cues={cues} error={error_text()}")

    # The phone-sized page: nothing overflows, the video is visible.
    driver.set_window_size(390, 844)
    time.sleep(0.5)
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    check("nothing overflows at 390 px", overflow <= 0, f"{overflow} px too wide")
    driver.execute_script("arguments[0].scrollIntoView()", testid("result-video"))
    driver.save_screenshot(os.path.join(shots, "studio-390x844.png"))
    driver.set_window_size(1280, 800)

    # The dog photo: a readable error naming no_face_detected.
    testid("portrait-input").send_keys(os.path.join(fixtures, "dogs.jpg"))
    wait.until(lambda d: error_text())
    check("the dog photo -> no_face_detected", "no_face_detected" in error_text(), error_text())
    driver.save_screenshot(os.path.join(shots, "studio-error.png"))

    # The camera: a still is taken and analysed (Chromium's test pattern has no face).
    click("error-close")
    click("camera")
    wait.until(lambda d: d.find_element(By.ID, "snap").is_displayed() or error_text())
    wait.until(lambda d: d.execute_script("return document.getElementById('camera-view').videoWidth > 0"))
    click("snap")
    wait.until(lambda d: "no_face_detected" in error_text() or "Face found" in d.find_element(By.ID, "analysis-text").text)
    check("a camera still is analysed", "no_face_detected" in error_text(), error_text())

    # Every control has a label; nothing came from outside the server.
    unlabelled = driver.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')].filter(e =>"
        " !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)")
    check("every control is labelled", not unlabelled, str(unlabelled))
    outside = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => !u.startsWith(location.origin) && !u.startsWith('blob:'))")
    check("nothing is loaded from outside the server", not outside, str(outside))

    # A voice preview is a WAV of that language.
    kind = driver.execute_script(
        "return fetch('/v1/voices/preview?language=es', {headers: {Authorization: 'Bearer ' +"
        " localStorage.getItem('mouthpiece.key')}}).then(r => r.ok ? r.headers.get('content-type') : r.status)")
    check("a voice preview is audio", kind == "audio/wav", str(kind))

    # The avatars page lists the saved avatar with its consent, and makes another from an upload.
    driver.get(base + "/studio/#avatars")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#avatar-list .card"))
    card = driver.find_element(By.CSS_SELECTOR, "#avatar-list .card").text
    check("the avatars page shows the avatar and its consent", "consent from Studio Test" in card, card)
    driver.find_element(By.ID, "avatar-file").send_keys(os.path.join(fixtures, "portraits", "woman_closed_smile.png"))
    driver.find_element(By.CSS_SELECTOR, "#avatar-form button").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#avatar-list .card")) >= 2 or error_text())
    check("an avatar is made on the avatars page", len(driver.find_elements(By.CSS_SELECTOR, "#avatar-list .card")) >= 2,
          error_text())
    driver.save_screenshot(os.path.join(shots, "studio-avatars.png"))
    driver.get(base + "/studio/#history")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-list li")) >= 2)
    wait.until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#history-list img.thumb')].some(i => i.naturalWidth > 0)"))
    check("the history lists the videos with thumbnails", True)
    driver.save_screenshot(os.path.join(shots, "studio-history.png"))
finally:
    driver.quit()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
