// Folio dashboard: confirmations, live regions, uploads with live progress.
// Home and job pages follow Server-Sent Events (the session cookie
// authenticates them); a few other lists still refresh on a timer.
// Plain JavaScript, no build step; every page works without it except Upload.
"use strict";

const csrf = () => document.querySelector("main")?.dataset.csrf || "";

// Forms (or their submit buttons) with data-confirm ask first.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = button?.dataset.confirm || event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Regions with data-live="N" (and an id) are refreshed from the server every
// N seconds, while the tab is visible and nothing in them has focus.
function refreshLive() {
  const regions = [...document.querySelectorAll("[data-live][id]")].filter(
    (el) => Number(el.dataset.live) > 0,
  );
  for (const region of regions) {
    const every = Number(region.dataset.live) * 1000;
    const tick = async () => {
      if (!document.hidden && !region.contains(document.activeElement)) {
        try {
          const answer = await fetch(location.href, { headers: { Accept: "text/html" } });
          if (answer.ok && answer.url === location.href) {
            const html = new DOMParser().parseFromString(await answer.text(), "text/html");
            const fresh = html.getElementById(region.id);
            if (fresh) {
              region.innerHTML = fresh.innerHTML;
              region.dataset.live = fresh.dataset.live || "0";
            }
          }
        } catch (e) { /* offline for a moment: try again next tick */ }
      }
      if (Number(region.dataset.live) > 0) setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }
}

const TERMINAL = new Set(["succeeded", "failed", "dead", "cancelled"]);

// The home page's figures: /ui/events sends them as HTML whenever the
// tenant's jobs change (EventSource reconnects by itself after a drop).
function followOverview() {
  const region = document.querySelector("[data-follow][id]");
  if (!region) return;
  const source = new EventSource(region.dataset.follow);
  source.addEventListener("overview", (e) => {
    region.innerHTML = e.data;
    region.dataset.updated = String(Number(region.dataset.updated || 0) + 1);
  });
}

// Swap the regions of the current page (by id) for fresh ones from the server.
async function reloadRegions(ids) {
  try {
    const answer = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!answer.ok || answer.url !== location.href) return;
    const html = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const id of ids) {
      const here = document.getElementById(id);
      const fresh = html.getElementById(id);
      if (here && fresh && !here.contains(document.activeElement)) {
        here.replaceWith(document.importNode(fresh, true));
      }
    }
  } catch (e) { /* offline for a moment: the next event reloads them */ }
}

// A job's page follows the job's event stream: progress in place; on a new
// state, its state, timeline, attempts and children are read again.
function followJob() {
  const card = document.getElementById("job-live");
  if (!card || !card.dataset.job || TERMINAL.has(card.dataset.status)) return;
  const source = new EventSource(`/ui/jobs/${card.dataset.job}/events`);
  const regions = ["job-live", "timeline", "children", "attempts"];
  const progress = (data) => {
    const field = document.querySelector("#job-live [data-field=progress]");
    if (!field) return;
    const percent = typeof data.percent === "number" ? data.percent : data.progress;
    const bar = field.querySelector("progress");
    const text = field.querySelector(".muted");
    if (bar && typeof percent === "number") { bar.value = percent; bar.textContent = `${percent} %`; }
    const parts = [typeof percent === "number" ? `${percent} %` : null, data.stage,
      data.total ? `${data.done ?? 0}/${data.total}` : null];
    if (text) text.textContent = parts.filter(Boolean).join(" · ");
  };
  const state = async (status) => {
    if (TERMINAL.has(status)) source.close();
    await reloadRegions(regions);
  };
  source.addEventListener("snapshot", (e) => {
    const job = JSON.parse(e.data);
    const shown = document.getElementById("job-live")?.dataset.status;
    if (job.status !== shown) state(job.status);
    else if (TERMINAL.has(job.status)) source.close();
  });
  source.addEventListener("progress", (e) => progress(JSON.parse(e.data)));
  source.addEventListener("state", (e) => state(JSON.parse(e.data).status));
}

function uploadRow(file) {
  const li = document.createElement("li");
  li.innerHTML = `<strong class="name"></strong> <span class="badge status">waiting</span>
    <div class="bars">
      <span>Upload</span><progress class="up" max="100" value="0" aria-label="upload"></progress>
      <span>Processing</span><progress class="work" max="100" value="0" aria-label="processing"></progress>
    </div><div class="muted detail"></div>`;
  li.querySelector(".name").textContent = file.name;
  li.querySelector(".up").setAttribute("aria-label", `upload of ${file.name}`);
  li.querySelector(".work").setAttribute("aria-label", `processing of ${file.name}`);
  document.getElementById("uploads").append(li);
  return li;
}

function setStatus(li, status) {
  const badge = li.querySelector(".status");
  badge.textContent = status;
  badge.className = `badge status s-${status}`;
  li.dataset.status = status;
}

function follow(li, documentId, jobId) {
  const work = li.querySelector(".work");
  const detail = li.querySelector(".detail");
  const source = new EventSource(`/ui/jobs/${jobId}/events`);
  const finish = async () => {
    source.close();
    const answer = await fetch(`/ui/documents/${documentId}/status`, { headers: { Accept: "application/json" } });
    const doc = answer.ok ? await answer.json() : null;
    const status = doc ? doc.status : "unknown";
    setStatus(li, status);
    if (status === "ready" || status === "partial") work.value = 100;
    detail.innerHTML = "";
    const link = document.createElement("a");
    link.href = `/ui/documents/${documentId}`;
    link.textContent = "Open the document";
    detail.append(link);
    if (doc?.error) detail.append(` — ${doc.error}`);
  };
  const show = (data) => {
    if (typeof data.percent === "number") work.value = data.percent;
    if (typeof data.progress === "number") work.value = data.progress;
    const parts = [data.stage, data.total ? `${data.done ?? 0}/${data.total} pages` : null];
    detail.textContent = parts.filter(Boolean).join(" · ");
  };
  source.addEventListener("snapshot", (e) => {
    const job = JSON.parse(e.data);
    setStatus(li, job.status === "queued" || job.status === "pending" ? "queued" : "processing");
    show(job);
    if (TERMINAL.has(job.status)) finish();
  });
  source.addEventListener("progress", (e) => { setStatus(li, "processing"); show(JSON.parse(e.data)); });
  source.addEventListener("state", (e) => {
    const data = JSON.parse(e.data);
    if (TERMINAL.has(data.status)) finish();
    else setStatus(li, data.status === "running" ? "processing" : data.status);
  });
}

function upload(file) {
  const li = uploadRow(file);
  const up = li.querySelector(".up");
  const body = new FormData();
  body.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/ui/upload");
  xhr.setRequestHeader("X-CSRF-Token", csrf());
  xhr.setRequestHeader("Accept", "application/json");
  setStatus(li, "uploading");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) up.value = (100 * e.loaded) / e.total; };
  xhr.onload = () => {
    let answer = null;
    try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status >= 400 || !answer) {
      setStatus(li, "failed");
      li.querySelector(".detail").textContent = answer?.detail || `upload failed (${xhr.status})`;
      return;
    }
    up.value = 100;
    const documentId = answer.document.id;
    if (answer.job) follow(li, documentId, answer.job.job_id);
    else {
      setStatus(li, answer.document.status);
      li.querySelector(".detail").textContent = answer.duplicate ? "already uploaded" : "";
    }
  };
  xhr.onerror = () => { setStatus(li, "failed"); li.querySelector(".detail").textContent = "network error"; };
  xhr.send(body);
}

function setUpUpload() {
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  if (!drop || !input) return;
  input.addEventListener("change", () => { [...input.files].forEach(upload); input.value = ""; });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => { [...e.dataTransfer.files].forEach(upload); });
}

document.addEventListener("DOMContentLoaded", () => {
  refreshLive(); setUpUpload(); followOverview(); followJob();
});
