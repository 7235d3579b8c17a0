# SPDX-License-Identifier: BSD-2-Clause
"""bench/dashboard.py BASE API_PID NGINX_PID SECONDS: one headless Chromium
tab against the dashboard (run by bench/dashboard.sh, which starts the
stack).  Measures:

- first paint: the overview's first-contentful-paint and the time until
  its numbers are in (ov-connections shows the segment's client count),
  best of 3 fresh loads; the same for a static page nginx serves
  (/bench-static/page.html, the reference);
- the tab's cost: CPU (utime + stime) of mqttd-api (master + workers)
  and of nginx while the tab stays SECONDS on the overview (it samples
  every 3 s) and then SECONDS on the clients page (it pages 100,000
  clients), against the same SECONDS with no tab (idle).

Prints one JSON object (the bench's last line is built from it).
"""
import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--window-size=1280,900")
HZ = os.sysconf("SC_CLK_TCK")


def descendants(roots):
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    keep = set(roots)
    more = True
    while more:
        more = False
        for p, pp in parent.items():
            if p not in keep and pp in keep:
                keep.add(p)
                more = True
    return keep


def ticks(roots):
    t = 0
    for p in descendants(roots):
        try:
            with open(f"/proc/{p}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
            t += int(v[11]) + int(v[12])
        except (OSError, IndexError, ValueError):
            pass
    return t


def cpu_pct(fn, seconds, api, nginx):
    """% of one core mqttd-api and nginx spent while fn() ran."""
    a0, n0, t0 = ticks([api]), ticks([nginx]), time.monotonic()
    fn(seconds)
    a1, n1, dt = ticks([api]), ticks([nginx]), time.monotonic() - t0
    return (round(100.0 * (a1 - a0) / HZ / dt, 3),
            round(100.0 * (n1 - n0) / HZ / dt, 3))


def wait(fn, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # stale elements while the page renders
            pass
        time.sleep(0.01)
    raise SystemExit("dashboard bench: timed out")


def paint_ms(d):
    e = d.execute_script(
        "const p = performance.getEntriesByName('first-contentful-paint');"
        "return p.length ? p[0].startTime : null")
    return e


def main():
    base, api, nginx, secs = (sys.argv[1], int(sys.argv[2]),
                              int(sys.argv[3]), float(sys.argv[4]))
    clients = int(sys.argv[5])
    profile = tempfile.mkdtemp(prefix="mqttd-bench-chromium-")
    o = webdriver.ChromeOptions()
    for a in CHROME_ARGS:
        o.add_argument(a)
    o.add_argument("--user-data-dir=" + profile)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    out = {}
    try:
        # the reference: a static page from the same nginx
        best = None
        for _ in range(3):
            d.get(f"{base}/bench-static/page.html?{time.monotonic()}")
            fcp = wait(lambda: paint_ms(d))
            best = fcp if best is None else min(best, fcp)
        out["static_first_paint_ms"] = round(best, 1)
        # log in once (the tab's sessionStorage keeps it)
        d.get(base + "/")
        wait(lambda: d.find_element(By.ID, "login").is_displayed())
        d.find_element(By.ID, "login-user").send_keys("admin")
        d.find_element(By.ID, "login-pass").send_keys("public")
        d.find_element(By.ID, "login-submit").click()
        wait(lambda: d.find_element(By.ID, "shell").is_displayed())
        fcps, readies = [], []
        for i in range(3):
            t0 = time.monotonic()
            d.get(f"{base}/?load={i}#/overview")
            wait(lambda: d.find_element(By.ID, "ov-connections").text
                 .replace(",", "") == str(clients))
            readies.append((time.monotonic() - t0) * 1000)
            fcps.append(wait(lambda: paint_ms(d)))
        out["overview_first_paint_ms"] = round(min(fcps), 1)
        out["overview_numbers_ms"] = round(min(readies), 1)
        out["idle_api_cpu_pct"], out["idle_nginx_cpu_pct"] = cpu_pct(
            time.sleep, secs, api, nginx)
        d.get(f"{base}/?steady#/overview")
        wait(lambda: d.find_element(By.ID, "ov-connections").text != "-")
        out["overview_api_cpu_pct"], out["overview_nginx_cpu_pct"] = \
            cpu_pct(time.sleep, secs, api, nginx)
        d.get(f"{base}/?steady#/clients")
        wait(lambda: "bench-client" in d.find_element(By.ID, "page").text)
        out["clients_api_cpu_pct"], out["clients_nginx_cpu_pct"] = \
            cpu_pct(time.sleep, secs, api, nginx)
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out))


main()
