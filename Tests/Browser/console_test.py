#!/usr/bin/env python3
"""Browser test of the web console in headless Chromium (Selenium + Debian's chromedriver).

Starts `winmdm serve` on a fresh data directory and a free loopback port, enrolls a device with `winmdm emulate`,
then, as a person would: signs in with the first administrator, raises the Default device limit through
Devices > Enrollment restrictions, deletes the user's device through Users > All users > user > Devices, and saves
screenshots of the main pages in Tests/Browser/screenshots/. Every change is checked through the CLI.
Exit status 0 when everything held; prints "N passed, N failed".
"""
import base64
import json, os, shutil, socket, subprocess, sys, tempfile, time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("WINMDM_BIN", os.path.join(ROOT, ".build", "debug", "winmdm"))
SHOTS = os.path.join(ROOT, "Tests", "Browser", "screenshots")
passed, failed = 0, 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(data, *args):
    r = subprocess.run([BIN, *args, "--data-dir", data], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"winmdm {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def main():
    data = tempfile.mkdtemp(prefix="winmdm-browser-")
    port = free_port()
    base = f"https://localhost:{port}"
    server = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--public-url", base],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver = None
    try:
        deadline = time.time() + 60
        banner = ""
        while "  listening on:" not in banner and time.time() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            banner += line
        check("  listening on:" in banner, "server started")
        cli(data, "users", "add", "alice@winmdm.test", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD")
        subprocess.run([BIN, "emulate", "--server", base, "--upn", "alice@winmdm.test", "--password", "Correct horse 1",
                        "--data-dir", data, "--json"], check=True, capture_output=True, timeout=120)
        devices = json.loads(cli(data, "devices", "list", "--user", "alice@winmdm.test", "--json"))
        check(len(devices) == 1, "a device is enrolled")
        admin = dict(line.split(": ", 1) for line in open(os.path.join(data, "initial-admin")).read().splitlines())

        opts = Options()
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors", "--window-size=1280,900"]:
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
        driver.set_page_load_timeout(30)
        os.makedirs(SHOTS, exist_ok=True)

        def shot(name):
            driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))

        def shows(text, timeout=15):
            """Waits for the page (after a click and its redirect) to contain text."""
            try:
                WebDriverWait(driver, timeout).until(lambda d: text in d.page_source)
                return True
            except Exception:
                return False

        # Sign in.
        driver.get(base + "/console")
        shot("01-sign-in")
        driver.find_element(By.NAME, "username").send_keys(admin["user"])
        driver.find_element(By.NAME, "password").send_keys(admin["password"])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        check(shows("Recent failures, by cause"), "signed in to the home page")
        shot("00-home")
        driver.get(base + "/console/users")
        check(shows("All users"), "Users > All users")
        shot("02-all-users")

        # Devices > Enrollment restrictions > Default (Device limit restrictions) > Properties > Edit.
        driver.find_element(By.LINK_TEXT, "Enrollment restrictions").click()
        shows("Device limit restrictions")
        shot("03-enrollment-restrictions")
        driver.find_elements(By.LINK_TEXT, "Default")[0].click()
        shows("Device limit (maximum 15)")
        field = driver.find_element(By.NAME, "limit")
        field.clear()
        field.send_keys("10")
        shot("04-device-limit-properties")
        driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        # Review + save: what will change, before anything does.
        check(shows("Review + save: Default"), "Review + save shows the changes first")
        check("<strong>10</strong>" in driver.page_source, "the review shows the new device limit")
        shot("04b-review-and-save")
        driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        check(shows("Saved Default"), "the console confirms the save")
        limit = json.loads(cli(data, "restrictions", "show", "Default", "--type", "device-limit", "--json"))["limit"]
        check(limit == 10, f"device limit is now {limit}")

        # Users > All users > alice > Devices: select the device, Delete.
        driver.find_element(By.LINK_TEXT, "All users").click()
        shows("alice@winmdm.test")
        driver.find_element(By.LINK_TEXT, "alice@winmdm.test").click()
        shows("Assign license")
        shot("05-user-devices")
        driver.find_element(By.NAME, "device").click()
        driver.find_element(By.CSS_SELECTOR, "button[value=delete]").click()
        check(shows("Delete 1 device(s) of alice@winmdm.test?"), "the console asks before deleting")
        shot("05b-confirm-delete-devices")
        driver.find_element(By.CSS_SELECTOR, "main button.danger").click()
        check(shows("Deleted 1 device"), "the console confirms the deletion")
        left = json.loads(cli(data, "devices", "list", "--user", "alice@winmdm.test", "--json"))
        check(left == [], "the device is gone")

        # A device's own page, Delete's confirmation, and the device list at a narrow width.
        subprocess.run([BIN, "emulate", "--server", base, "--upn", "alice@winmdm.test", "--password", "Correct horse 1",
                        "--data-dir", data, "--lifecycle"], check=True, capture_output=True, timeout=120)
        device = json.loads(cli(data, "devices", "list", "--user", "alice@winmdm.test", "--json"))[0]
        driver.get(base + "/console/devices/windows/" + device["id"])
        check(shows("Inventory") and shows("Enrollment attempts") and shows(" UTC"), "the device page shows inventory, attempts and times in UTC")
        shot("08b-device")
        driver.get(base + "/console/devices/windows/" + device["id"] + "/confirm?action=delete")
        check(shows("This is what will happen"), "Delete asks first and says what will happen")
        shot("08c-confirm-delete")
        driver.set_window_size(800, 900)
        driver.get(base + "/console/devices/windows")
        shot("08d-windows-devices-800px")
        driver.set_window_size(1280, 900)
        # Failures of two causes, for the chart and the grouped list.
        cli(data, "users", "add", "nolic@winmdm.test", "--password", "Correct horse 1")
        for upn, pw in [("nolic@winmdm.test", "Correct horse 1"), ("alice@winmdm.test", "wrong horse"), ("alice@winmdm.test", "wrong horse")]:
            subprocess.run([BIN, "emulate", "--server", base, "--upn", upn, "--password", pw, "--data-dir", data],
                           capture_output=True, timeout=120)
        cli(data, "profiles", "create", "Lockdown", "--description", "Camera off for everyone")
        cli(data, "profiles", "set", "Lockdown", "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera", "--format", "int", "--value", "0")
        cli(data, "profiles", "assign", "Lockdown", "all-users")
        cli(data, "esp", "edit", "Default", "--show", "yes", "--timeout", "45", "--message", "Call IT on x1234")
        cli(data, "compliance", "create", "Baseline", "--os-min", "10.0.22631", "--require-encryption", "--grace-hours", "24")
        cli(data, "compliance", "assign", "Baseline", "all-users")
        for name, path in [("06-device-settings", "/console/devices/device-settings"), ("07-mobility", "/console/mobility"),
                           ("08-windows-devices", "/console/devices/windows"), ("09-autopilot", "/console/devices/windows/autopilot"),
                           ("09b-configuration", "/console/devices/windows/configuration"),
                           ("09c-enrollment-status-page", "/console/devices/windows/esp"),
                           ("09d-compliance", "/console/devices/windows/compliance"),
                           ("10-troubleshooting", "/console/troubleshooting"), ("11-audit", "/console/audit?since=1d")]:
            driver.get(base + path)
            check(shows("</h1>"), f"{path} renders")
            if path.endswith("/configuration"):
                check(shows("AllowCamera") and shows("All users"), "the profile shows its setting and assignment")
            if path.endswith("/compliance"):
                check(shows("Baseline") and shows("Windows 10.0.22631 or later, encrypted, 24 h grace") and shows("All users"),
                      "the compliance policy shows its rules and assignment")
            if path.endswith("/troubleshooting"):
                check(shows("no-license") and shows("Sign-in failures"), "failures are grouped by cause, sign-in noise apart")
            if path.endswith("/esp"):
                check(shows("Call IT on x1234") and shows("45 min"), "the Default page shows its edited settings")
            shot(name)
        # Devices > Windows > Autopilot devices: upload the CSV Get-WindowsAutopilotInfo writes; each row gets a result.
        csv_path = os.path.join(data, "autopilot.csv")
        good = base64.b64encode(os.urandom(256)).decode()
        with open(csv_path, "w", newline="") as f:
            f.write("Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User\r\n")
            f.write(f"PF1BROWSER,,{good},SALES,\r\nPF2BROWSER,,not-a-hash,,\r\n")
        cli(data, "groups", "create", "AP Sales", "--autopilot-tag", "SALES")
        cli(data, "groups", "create", "AP Sales 2", "--autopilot-tag", "SALES")
        cli(data, "autopilot", "create", "--name", "Sales", "--template", "SAL-%SERIAL%", "--group", "AP Sales")
        cli(data, "autopilot", "create", "--name", "Sales too", "--group", "AP Sales 2")
        driver.get(base + "/console/devices/windows/autopilot/devices")
        driver.find_element(By.NAME, "csv").send_keys(csv_path)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        check(shows("1 of 2 devices imported.") and shows("InvalidZtdHardwareHash"), "the upload shows a result per row")
        check(shows("0x801C03EA"), "the device targeted by two profiles carries the V03 warning")
        shot("09e-autopilot-devices-import")
        driver.get(base + "/console/devices/windows/autopilot")
        check(shows("PF1BROWSER: 0x801C03EA"), "both profiles carry the V03 warning")
        shot("09f-autopilot-profiles-warnings")
        # Users › New user, and Groups: create one, add a member.
        driver.get(base + "/console/users")
        driver.find_element(By.CSS_SELECTOR, "details.card summary").click()
        driver.find_element(By.NAME, "upn").send_keys("newbie@winmdm.test")
        driver.find_element(By.NAME, "password").send_keys("Correct horse 1")
        driver.find_element(By.CSS_SELECTOR, "details.card button[type=submit]").click()
        check(shows("Created newbie@winmdm.test"), "a user is created from the console")
        driver.get(base + "/console/groups")
        driver.find_element(By.NAME, "name").send_keys("Finance")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        check(shows("Created the group Finance"), "a group is created from the console")
        driver.find_element(By.NAME, "upn").send_keys("newbie@winmdm.test")
        driver.find_element(By.CSS_SELECTOR, "button[value=add]").click()
        check(shows("Added newbie@winmdm.test"), "a member is added from the console")
        shot("12-group")
        audit = cli(data, "audit", "list")
        check("console:" in audit, "console changes are audited")
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
