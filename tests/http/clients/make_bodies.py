#!/usr/bin/python3
"""Makes the multipart bodies in this directory: real clients' bodies captured on the wire, and the
bodies of clients not installed here built from their documented formats. See README.md.

    tests/http/clients/make_bodies.py            # rewrite every body and clients.json

Captured: a local HTTP listener (this script) records each request's Content-Type and raw body;
curl, Python requests, Node's fetch (undici) and FormData, the npm `form-data` package (needs
`npm install form-data` in $FORM_DATA_DIR, skipped when absent) and headless Chromium (fetch with
FormData, and a real <form> submission) send photo.jpg to it. Built: .NET HttpClient, Apache
HttpClient 4 (strict mode), Go mime/multipart, OkHttp and httpx, byte for byte as their sources
write them (boundaries are random in the clients; fixed here so the files are reproducible).
Every body carries photo.jpg (160x96, EXIF orientation 6: the cut-out is 96x160).
"""
import base64
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = open(os.path.join(HERE, "photo.jpg"), "rb").read()
captured = {}


class Capture(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the page Chromium runs
        page = PAGE.replace("PHOTO_B64", base64.b64encode(PHOTO).decode()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        name = self.path.rsplit("/", 1)[-1]
        for _ in range(200):
            if name != "chromium_form" or "chromium_fetch" in captured:
                break
            time.sleep(0.1)
        captured[name] = (self.headers.get("Content-Type"), body, self.headers.get("User-Agent", ""))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


# The form posts into an iframe, which holds the page's load event (and so --dump-dom) until the
# listener answers it; the listener answers it only once the fetch's body has arrived.
PAGE = """<!doctype html><html><body><iframe name=sink></iframe><form id=f method=post
enctype=multipart/form-data action=/capture/chromium_form target=sink><input type=file name=image
id=i><input name=format value=webp></form>
<script>
const bytes = Uint8Array.from(atob("PHOTO_B64"), c => c.charCodeAt(0));
const file = new File([bytes], "photo.jpg", {type: "image/jpeg"});
const fd = new FormData();
fd.append("image", file);
fd.append("output", "mask");
fetch("/capture/chromium_fetch", {method: "POST", body: fd});
const dt = new DataTransfer();
dt.items.add(file);
document.getElementById("i").files = dt.files;
document.getElementById("f").submit();
</script></body></html>"""

NODE_FETCH = """
const fs = require('fs');
const [url, photo] = process.argv.slice(1);
(async () => {
  const fd = new FormData();
  fd.append('image', new Blob([fs.readFileSync(photo)], {type: 'image/jpeg'}), 'photo "1".jpg');
  fd.append('format', 'webp');
  await fetch(url + '/node_fetch', {method: 'POST', body: fd});
})();
"""

NODE_FORM_DATA = """
const fs = require('fs');
const FormData = require('form-data');
const [url, photo] = process.argv.slice(1);
const fd = new FormData();
fd.append('image', fs.readFileSync(photo), {filename: 'photo.jpg', contentType: 'image/jpeg'});
fd.append('output', 'mask');
fd.submit(url + '/node_form_data', (err, res) => { if (err) throw err; res.resume(); });
"""


def capture_all(port):
    url = f"http://127.0.0.1:{port}/capture"
    photo = os.path.join(HERE, "photo.jpg")
    run = lambda *cmd, **kw: subprocess.run(cmd, check=True, capture_output=True, timeout=120, **kw)
    run("curl", "-sS", "-o", "/dev/null", "-F", f"image=@{photo}", f"{url}/curl")
    run("curl", "-sS", "-o", "/dev/null", "-F", f"image=@{photo};type=image/jpeg;filename=my photo.jpg",
        "-F", "format=webp", f"{url}/curl_typed_filename_with_space")
    import requests
    requests.post(f"{url}/python_requests", files={"image": ("photo.jpg", PHOTO, "image/jpeg")},
                  data={"output": "mask"})
    requests.post(f"{url}/python_requests_utf8_filename",
                  files={"image": ("fot\u00f3 \u20ac.jpg", PHOTO)})
    if shutil.which("node"):
        run("node", "-e", NODE_FETCH, f"{url}", photo)
        modules = os.environ.get("FORM_DATA_DIR", "/tmp/form-data-npm")
        if os.path.isdir(os.path.join(modules, "node_modules", "form-data")):
            run("node", "-e", NODE_FORM_DATA, f"{url}", photo, cwd=modules)
    if shutil.which("chromium"):
        run("chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--dump-dom", f"http://127.0.0.1:{port}/page")


def build(boundary, parts, first_crlf=False, close="\r\n"):
    """parts: (raw header lines, content). The framing every client here uses: '--b' CRLF headers
    CRLF CRLF content, CRLF before each next boundary line, '--b--' then `close`."""
    out = b"\r\n" if first_crlf else b""
    for i, (headers, content) in enumerate(parts):
        out += (b"\r\n" if i else b"") + b"--" + boundary.encode() + b"\r\n"
        out += b"".join(h.encode() + b"\r\n" for h in headers) + b"\r\n" + content
    return out + b"\r\n--" + boundary.encode() + b"--" + close.encode()


def built_bodies():
    out = {}
    # .NET HttpClient, MultipartFormDataContent: boundary a GUID, quoted in the Content-Type;
    # ByteArrayContent with a media type, then Content-Disposition with unquoted name and filename
    # and filename* (System.Net.Http.MultipartFormDataContent.Add(content, name, fileName));
    # StringContent carries "text/plain; charset=utf-8".
    b = "5b0e9c6e-6a2f-4d0b-9b8a-2f9d3b6d7c41"
    out["dotnet_httpclient"] = (f'multipart/form-data; boundary="{b}"', build(b, [
        (["Content-Type: image/jpeg",
          "Content-Disposition: form-data; name=image; filename=photo.jpg; filename*=utf-8''photo.jpg"], PHOTO),
        (["Content-Type: text/plain; charset=utf-8", "Content-Disposition: form-data; name=format"], b"webp")]))
    # Apache HttpClient 4.5 MultipartEntityBuilder, HttpMultipartMode.STRICT (its default): every part
    # gets Content-Type and Content-Transfer-Encoding; text fields are "text/plain; charset=ISO-8859-1"
    # and 8bit; the boundary is 30-40 chars of [-_0-9a-zA-Z].
    b = "Kq3yHh_w-LcTg0xB9rZ2mVd7NfPs1Ju"
    out["java_apache_httpclient"] = (f"multipart/form-data; boundary={b}", build(b, [
        (['Content-Disposition: form-data; name="image"; filename="photo.jpg"', "Content-Type: image/jpeg",
          "Content-Transfer-Encoding: binary"], PHOTO),
        (['Content-Disposition: form-data; name="output"', "Content-Type: text/plain; charset=ISO-8859-1",
          "Content-Transfer-Encoding: 8bit"], b"mask")]))
    # Go mime/multipart Writer: boundary 30 random bytes in hex; part headers sorted by name
    # (CreatePart); CreateFormFile types the file application/octet-stream; WriteField has only the
    # disposition; Close writes CRLF "--b--" CRLF.
    b = "0f4a6c9e2b7d5813a9c0e4f6b2d8a1c3e5f7091b3d5f7a9c1e3f5a7c9e1b"
    out["go_mime_multipart"] = (f"multipart/form-data; boundary={b}", build(b, [
        (['Content-Disposition: form-data; name="image"; filename="photo.jpg"',
          "Content-Type: application/octet-stream"], PHOTO),
        (['Content-Disposition: form-data; name="format"'], b"webp")]))
    # OkHttp MultipartBody: boundary a UUID; each part's Content-Disposition, Content-Type (file
    # parts) and Content-Length; the close is "--b--" CRLF.
    b = "8c1f2e3d-4b5a-6978-8a9b-0c1d2e3f4a5b"
    out["okhttp"] = (f"multipart/form-data; boundary={b}", build(b, [
        (['Content-Disposition: form-data; name="image"; filename="photo.jpg"', "Content-Type: image/jpeg",
          f"Content-Length: {len(PHOTO)}"], PHOTO),
        (['Content-Disposition: form-data; name="output"', "Content-Length: 4"], b"mask")]))
    # httpx (_multipart.py): boundary 16 random bytes in hex; data fields before files; a file's
    # Content-Type guessed from its name.
    b = "3d6f0a9b2c5e8f1a4b7c0d3e6f9a2b5c"
    out["python_httpx"] = (f"multipart/form-data; boundary={b}", build(b, [
        (['Content-Disposition: form-data; name="format"'], b"webp"),
        (['Content-Disposition: form-data; name="image"; filename="photo.jpg"', "Content-Type: image/jpeg"],
         PHOTO)]))
    return out


# What each body asks for, so the test knows the answer: (content type, channels).
EXPECT = {"webp": ("image/webp", 4), "mask": ("image/png", 1), "": ("image/png", 4)}


def form_data_version():
    path = os.path.join(os.environ.get("FORM_DATA_DIR", "/tmp/form-data-npm"), "node_modules", "form-data",
                        "package.json")
    return json.load(open(path))["version"] if os.path.exists(path) else "?"


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        capture_all(server.server_address[1])
    finally:
        server.shutdown()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which(
        "node") else ""
    agents = {"node_fetch": f"Node {node} fetch + FormData (undici)",
              "node_form_data": f"Node {node} + npm form-data {form_data_version()}"}
    bodies = {name: (ctype, body, "captured: " + agents.get(name, agent))
              for name, (ctype, body, agent) in captured.items()}
    for name, (ctype, body) in built_bodies().items():
        bodies[name] = (ctype, body, "built from the client's documented format")
    manifest = []
    for name, (ctype, body, how) in sorted(bodies.items()):
        with open(os.path.join(HERE, name + ".body"), "wb") as f:
            f.write(body)
        ask = "webp" if b'name="format"' in body or b"name=format" in body else (
            "mask" if b'name="output"' in body else "")
        result_type, channels = EXPECT[ask]
        manifest.append({"file": name + ".body", "content_type": ctype, "how": how[:160],
                         "result_content_type": result_type, "width": 96, "height": 160, "channels": channels})
    with open(os.path.join(HERE, "clients.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(manifest)} bodies: {', '.join(sorted(bodies))}")


if __name__ == "__main__":
    main()
