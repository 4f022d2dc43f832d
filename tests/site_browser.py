"""Open every page of the built site in headless Chromium, as a phone would, and fail on what a reader would see.

For each page (390 × 844 viewport, every host but 127.0.0.1 unresolvable) it
reports: MathJax error elements, TeX left untypeset in the text, console errors
and uncaught exceptions, requests to any other host, a page wider than the
viewport, and a page view heavier than ``MAX_PAGE_BYTES``. The weight of a page
view is what a first visit transfers: the browser's cache is off, and every byte
received (headers included, as the test server sends it, uncompressed) counts until
MathJax has typeset, the fonts are in and no request is left open. It prints each
page's weight and the heaviest page. Uses Debian's ``chromium`` through the DevTools
protocol (tornado's websocket client, already installed with Jupyter).

    python tests/site_browser.py _build/html
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

WIDTH, HEIGHT = 390, 844
# Issue 14 §5: every page view under 2 MB. When this was set the heaviest was 1.90 MB
# (book/api_reference.html); book/_ext/page_weight.py says what keeps pages this light.
MAX_PAGE_BYTES = 2_000_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Text nodes outside code, scripts and typeset math that still hold TeX delimiters.
UNTYPESET = r"""(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const bad = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("pre, code, script, style, mjx-container, textarea, .highlight")) continue;
    if (/\\\(|\\\[|\$\$|\\begin\{/.test(node.textContent)) bad.push(node.textContent.trim().slice(0, 80));
  }
  return bad;
})()"""
CHECKS = """(() => ({
  merror: document.querySelectorAll("mjx-merror").length,
  typeset: document.querySelectorAll("mjx-container").length,
  width: document.documentElement.scrollWidth,
  widest: [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ")[0] : "")).slice(-3),
}))()"""


class Page:
    """One DevTools session: send commands, collect the events that matter."""

    def __init__(self, connection) -> None:
        self.connection, self.next_id = connection, 0
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.loaded = False
        self.urls: dict[str, str] = {}  # request id -> URL
        self.sizes: dict[str, int] = {}  # request id -> bytes received, once finished
        self.open: set[str] = set()  # requests neither finished nor failed

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())

    def largest(self, n: int) -> list[str]:
        ids = sorted(self.sizes, key=self.sizes.get, reverse=True)[:n]
        return [f"{urllib.parse.urlsplit(self.urls[i]).path.rsplit('/', 1)[-1]} {self.sizes[i] / 1e6:.2f} MB"
                for i in ids]

    async def call(self, method: str, **params):
        self.next_id += 1
        wanted = self.next_id
        await self.connection.write_message(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = json.loads(await self.connection.read_message())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.observe(message)

    def observe(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = urllib.parse.urlsplit(params["request"]["url"])
            if url.scheme in {"http", "https", "ws", "wss"} and url.hostname not in LOCAL_HOSTS:
                self.outside.append(params["request"]["url"])
            self.urls[params["requestId"]] = params["request"]["url"]
            self.open.add(params["requestId"])
        elif method == "Network.loadingFinished":
            self.sizes[params["requestId"]] = int(params.get("encodedDataLength", 0))
            self.open.discard(params["requestId"])
        elif method == "Network.loadingFailed":
            self.open.discard(params["requestId"])
        elif method == "Page.loadEventFired":
            self.loaded = True

    async def wait_for_load(self) -> None:
        while not self.loaded:
            self.observe(json.loads(await self.connection.read_message()))

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the page's fonts are loaded and no request is open (at most ``timeout`` s)."""
        await self.evaluate("document.fonts.ready.then(() => null)", await_promise=True)
        deadline = time.monotonic() + timeout
        while self.open and time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(self.connection.read_message(), deadline - time.monotonic())
            except TimeoutError:
                break
            self.observe(json.loads(message))

    async def evaluate(self, expression: str, await_promise: bool = False):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=await_promise)
        return result["result"].get("value")


async def check_page(devtools: str, url: str) -> tuple[list[str], int]:
    """The problems a reader would see on one page, and the bytes its first visit transferred."""
    request = urllib.request.Request(f"{devtools}/json/new?about:blank", method="PUT")
    target = json.loads(urllib.request.urlopen(request).read())
    page = Page(await websocket_connect(target["webSocketDebuggerUrl"], max_message_size=1 << 26))
    try:
        for domain in ("Runtime", "Log", "Network", "Page"):
            await page.call(f"{domain}.enable")
        await page.call("Network.setCacheDisabled", cacheDisabled=True)  # every page weighed as a first visit
        await page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                        mobile=True)
        await page.call("Page.navigate", url=url)
        await page.wait_for_load()
        # MathJax typesets after the load event; its startup promise resolves when it is done
        await page.evaluate("(window.MathJax && MathJax.startup && MathJax.startup.promise) || null",
                            await_promise=True)
        found = await page.evaluate(CHECKS)
        untypeset = await page.evaluate(UNTYPESET)
        if found is None or untypeset is None:  # a redirect (index.html) navigated away; its target is checked
            return [], page.bytes
        await page.settle()
    finally:
        page.connection.close()
        urllib.request.urlopen(f"{devtools}/json/close/{target['id']}").read()
    problems = [f"{found['merror']} MathJax error(s)"] if found["merror"] else []
    problems += [f"untypeset TeX: {text!r}" for text in untypeset[:3]]
    problems += [f"console error: {text[:160]}" for text in page.errors]
    problems += [f"request to another host: {address}" for address in page.outside]
    if found["width"] > WIDTH:
        widest = f" (e.g. {', '.join(found['widest'])})" if found["widest"] else ""
        problems.append(f"page is {found['width']} px wide in a {WIDTH} px viewport{widest}")
    if page.bytes > MAX_PAGE_BYTES:
        problems.append(f"page view of {page.bytes / 1e6:.2f} MB, over the {MAX_PAGE_BYTES / 1e6:.2f} MB limit "
                        f"(largest: {', '.join(page.largest(4))})")
    return problems, page.bytes


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            # a tab closed before its response was written (e.g. index.html's /favicon.ico)
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site, e.g. _build/html")
    args = parser.parse_args()
    browser = shutil.which("chromium")
    if browser is None:
        print("chromium not found: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 2
    pages = sorted(p.relative_to(args.site).as_posix() for p in args.site.rglob("*.html")
                   if not p.relative_to(args.site).parts[0].startswith("_"))
    server, port = serve(args.site)
    profile = tempfile.mkdtemp()
    log = Path(profile) / "chromium.log"  # a file, not a pipe: a full pipe would stall the browser
    process = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--remote-debugging-port=0"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        devtools = None
        for _ in range(200):
            listening = [line for line in log.read_text().splitlines() if "DevTools listening on" in line]
            if listening:
                devtools = "http://" + listening[0].split("ws://")[1].split("/")[0]
                break
            time.sleep(0.1)
        if devtools is None:
            raise RuntimeError("chromium did not start its DevTools server within 20 s")
        failures, weights = 0, {}
        for page in pages:
            problems, weights[page] = IOLoop.current().run_sync(
                functools.partial(check_page, devtools, f"http://127.0.0.1:{port}/{page}"), timeout=60)
            failures += bool(problems)
            print(f"{page}: {'; '.join(problems) if problems else 'ok'} ({weights[page] / 1e6:.2f} MB loaded)")
        heaviest = max(weights, key=weights.get)
        print(f"browser check: {len(pages)} pages, {failures} with problems; heaviest page view {heaviest}, "
              f"{weights[heaviest] / 1e6:.2f} MB (limit {MAX_PAGE_BYTES / 1e6:.2f} MB; each page weighed as a first "
              f"visit, with the browser's cache off)")
        return 1 if failures else 0
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
