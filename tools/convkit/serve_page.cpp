#include "serve_page.h"

namespace convkit::cli {

// One self-contained page (no external scripts, fonts or styles: the server may have no internet).
const char* serve_page_html() {
  return R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>convkit serve</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 52em; color: #222; }
  h1 { font-size: 1.4em; margin-bottom: 0.2em; }
  #model { color: #666; margin-bottom: 1em; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 2em; text-align: center;
          cursor: pointer; }
  #drop.over { border-color: #2a6; background: #efe; }
  #result { display: flex; gap: 2em; margin-top: 1.5em; flex-wrap: wrap; }
  figure { margin: 0; }
  figure img { width: 224px; height: 224px; object-fit: contain; image-rendering: pixelated;
               border: 1px solid #ddd; }
  figcaption { color: #666; font-size: 0.9em; }
  table { border-collapse: collapse; }
  td { padding: 0.2em 0.6em 0.2em 0; }
  .bar { background: #2a6; height: 0.9em; }
  #error { color: #b00; margin-top: 1em; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>convkit serve</h1>
<div id="model">loading the model's description...</div>
<div id="drop">Drop an image here, or click to choose one
  <input id="file" type="file" accept="image/*" hidden></div>
<div id="error"></div>
<div id="result" hidden>
  <figure><img id="input" alt="the image sent"><figcaption>the image sent</figcaption></figure>
  <figure><img id="cam" alt="Grad-CAM overlay"><figcaption id="camcaption">Grad-CAM</figcaption></figure>
  <div><table id="top"></table><p id="latency"></p></div>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message;
  document.body.dataset.selftest = document.body.dataset.selftest === "running" ? "failed" : "";
}

async function describeModel() {
  const r = await fetch("/v1/model");
  const m = await r.json();
  $("model").textContent = `${m.name}: ${m.num_classes} classes, input ${m.input.channels} x ` +
      `${m.input.height} x ${m.input.width} (${m.checksum})`;
  return m;
}

async function classify(blob) {
  $("error").textContent = "";
  $("result").hidden = false;
  $("input").src = URL.createObjectURL(blob);
  const type = blob.type || "application/octet-stream";
  const r = await fetch("/v1/predict?top_k=5", { method: "POST", body: blob,
                                                 headers: { "Content-Type": type } });
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || `HTTP ${r.status}`);
  const table = $("top");
  table.textContent = "";
  for (const p of answer.predictions) {
    const row = table.insertRow();
    row.insertCell().textContent = p.class;
    row.insertCell().textContent = (100 * p.probability).toFixed(1) + "%";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = Math.max(1, Math.round(200 * p.probability)) + "px";
    row.insertCell().appendChild(bar);
  }
  $("latency").textContent = `model ${answer.latency_ms.model.toFixed(1)} ms, ` +
      `total ${answer.latency_ms.total.toFixed(1)} ms (batch of ${answer.batch_size})`;
  const cam = await fetch("/v1/explain", { method: "POST", body: blob,
                                            headers: { "Content-Type": type } });
  if (cam.ok) {
    $("cam").src = URL.createObjectURL(await cam.blob());
    $("camcaption").textContent = `Grad-CAM for ${cam.headers.get("X-Class")} ` +
        `(layer ${cam.headers.get("X-Layer")})`;
  } else {
    const e = await cam.json();
    $("cam").removeAttribute("src");
    $("camcaption").textContent = e.error;
  }
  return { answer, camOk: cam.ok };
}

function run(blob) {
  classify(blob).catch((e) => showError(e.message));
}

const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
$("file").addEventListener("change", (e) => { if (e.target.files[0]) run(e.target.files[0]); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) run(e.dataTransfer.files[0]);
});

// "#selftest": a drawn image through the same path a dropped file takes.
async function selftest(model) {
  document.body.dataset.selftest = "running";
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = Math.max(32, model.input.height);
  const g = canvas.getContext("2d");
  g.fillStyle = "#000";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#fff";
  g.fillRect(canvas.width / 4, canvas.height / 4, canvas.width / 2, canvas.height / 2);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const { answer, camOk } = await classify(blob);
  const rows = $("top").rows.length;
  const expected = Math.min(5, model.num_classes);
  if (answer.predictions.length !== expected || rows !== expected)
    throw new Error(`expected ${expected} rows, got ${rows}`);
  document.body.dataset.top = answer.predictions[0].class;
  document.body.dataset.cam = camOk ? "yes" : "no";
  document.body.dataset.selftest = "ok";
}

describeModel().then((m) => {
  if (location.hash === "#selftest") return selftest(m);
}).catch((e) => showError(e.message));
</script>
</body>
</html>
)HTML";
}

}  // namespace convkit::cli
