// The timeline page of `decoder html --dir` (decoder/views/timeline_dir.py writes
// the data).  Files arrive as scripts calling HV.overview/HV.sums/HV.chunk, because
// a page opened from file:// may load scripts but not fetch() files.  The page holds
// the overview, the densities of the chunks in view and at most KEEP_CHUNKS chunks
// of records: what it holds depends on the window, never on the trace's length.
"use strict";
const HV = (() => {
  const G = {left: 90, right: 20, top: 40, laneH: 56, gap: 10};
  const C = {lane: "#eeeeee", intercept: "#3b7dd8", exception: "#f0a030", quiesce: "#9b59b6",
             nmi: "#d62728", inject: "#2ca02c", merged: "#8c564b", other: "#555555", density: "#7f9fc8",
             lossA: "#ffd700", lossB: "#000000"};
  let recordLimit = 60000;        // records drawn one by one up to this many in view (#limit=N)
  const SUMMARY_CHUNKS = 600;     // chunk densities used up to this many chunks in view
  const KEEP_CHUNKS = 12;
  const NOT_DATA_LOSS = new Set(["late", "duplicate"]);
  const $ = (id) => document.getElementById(id);
  const canvas = $("tl"), ctx = canvas.getContext("2d"), status = $("status"), tip = $("tip");
  let meta = null, span = 1, view = {a: 0, b: 1}, lanes = [], filter = {cpus: null, names: []};
  let W = 1200, H = 200, hatch = null, hits = new Map(), generation = 0, firstScreen = false, frame = 0;
  const chunks = new Map(), sums = new Map(), loading = new Map();

  // ---- data arrival -------------------------------------------------------
  function overview(m) {
    meta = m;
    const ends = m.chunks.map((c) => c[1]);
    span = Math.max(1, ends.length ? Math.max(...ends) : 1);
    view = windowFromHash() || {a: 0, b: span};
    setHash();
    setupInput();
    resize();
  }
  function chunk(id, rows) { chunks.set(id, rows); arrived("c" + id); }
  function sumsArrived(gid, list) { sums.set(gid, list); arrived("g" + gid); }
  function arrived(key) {
    const done = loading.get(key);
    loading.delete(key);
    if (done) done.ok();
  }
  function load(key, src) {
    if (loading.has(key)) return loading.get(key).promise;
    let ok, fail;
    const promise = new Promise((res, rej) => { ok = res; fail = rej; });
    loading.set(key, {promise, ok, fail});
    const s = document.createElement("script");
    s.src = src;
    s.onerror = () => { loading.delete(key); fail(new Error("cannot load " + src)); };
    s.onload = () => s.remove();
    document.head.appendChild(s);
    return promise;
  }
  const pad = (n, w) => String(n).padStart(w, "0");
  const needChunk = (id) => chunks.has(id) ? null : load("c" + id, `chunks/c${pad(id, 5)}.js`);
  const needGroup = (g) => sums.has(g) ? null : load("g" + g, `sums/g${pad(g, 4)}.js`);

  // ---- time and geometry ----------------------------------------------------
  const plotW = () => W - G.left - G.right;
  const x = (t) => G.left + (t - view.a) * plotW() / (view.b - view.a);
  const tAt = (px) => view.a + (px - G.left) * (view.b - view.a) / plotW();
  const laneTop = (i) => G.top + i * (G.laneH + G.gap);
  const timed = () => meta.tsc_khz && meta.boot !== null;
  const seconds = (t) => (t - meta.boot) / (meta.tsc_khz * 1000);
  const ticks = (s) => meta.boot + s * meta.tsc_khz * 1000;
  function stamp(t) { return timed() ? seconds(t).toFixed(9) + " s" : "tsc +" + Math.round(t); }
  function tickLabel(t) {
    if (!timed()) return "+" + Math.round(t);
    const us = seconds(t) * 1e6, spanUs = (view.b - view.a) / meta.tsc_khz * 1000;
    for (const [unit, scale] of [["s", 1e6], ["ms", 1e3], ["µs", 1]]) {
      if (spanUs >= 5 * scale) return (us / scale).toFixed(3) + " " + unit;
    }
    return (us * 1000).toFixed(0) + " ns";
  }

  // ---- window, hash, input -------------------------------------------------
  function windowFromHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    let a = null, b = null;
    if (h.has("from") && h.has("to") && timed()) { a = ticks(+h.get("from")); b = ticks(+h.get("to")); }
    else if (h.has("a") && h.has("b")) { a = +h.get("a"); b = +h.get("b"); }
    if (h.has("filter")) $("filter").value = h.get("filter");
    if (h.has("limit") && +h.get("limit") >= 0) recordLimit = +h.get("limit");
    return a !== null && isFinite(a) && isFinite(b) && b > a ? {a, b} : null;
  }
  function setHash() {
    const p = new URLSearchParams();
    if (timed()) { p.set("from", seconds(view.a).toFixed(9)); p.set("to", seconds(view.b).toFixed(9)); }
    else { p.set("a", Math.round(view.a)); p.set("b", Math.round(view.b)); }
    if ($("filter").value) p.set("filter", $("filter").value);
    if (recordLimit !== 60000) p.set("limit", recordLimit);
    history.replaceState(null, "", "#" + p.toString());
  }
  function setView(a, b) {
    const minW = 20, margin = span * 0.05;
    if (b - a < minW) { const m = (a + b) / 2; a = m - minW / 2; b = m + minW / 2; }
    if (b - a > span + 2 * margin) { a = -margin; b = span + margin; }
    if (a < -margin) { b += -margin - a; a = -margin; }
    if (b > span + margin) { a -= b - span - margin; b = span + margin; }
    view = {a, b};
    setHash();
    schedule();
  }
  const zoom = (f, at) => { const t = at === undefined ? (view.a + view.b) / 2 : at;
                            setView(t - (t - view.a) * f, t + (view.b - t) * f); };
  const pan = (f) => { const d = (view.b - view.a) * f; setView(view.a + d, view.b + d); };
  function parseFilter() {
    const cpus = [], names = [];
    for (const tok of $("filter").value.trim().split(/\s+/).filter(Boolean)) {
      const m = /^cpu:([\d,]+)$/i.exec(tok);
      if (m) cpus.push(...m[1].split(",").filter(Boolean).map(Number));
      else names.push(tok.toUpperCase());
    }
    filter = {cpus: cpus.length ? new Set(cpus) : null, names};
    lanes = meta.cpus.filter((c) => !filter.cpus || filter.cpus.has(c));
  }
  function setupInput() {
    $("zin").onclick = () => zoom(0.5);
    $("zout").onclick = () => zoom(2);
    $("left").onclick = () => pan(-0.25);
    $("right").onclick = () => pan(0.25);
    $("reset").onclick = () => setView(0, span);
    $("filter").oninput = () => { parseFilter(); setHash(); schedule(); };
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      zoom(Math.exp(Math.max(-5, Math.min(5, e.deltaY * 0.002))), tAt(e.offsetX));
    }, {passive: false});
    let drag = null;
    canvas.addEventListener("mousedown", (e) => { drag = {x: e.clientX, a: view.a, b: view.b}; });
    window.addEventListener("mouseup", () => { drag = null; });
    window.addEventListener("mousemove", (e) => {
      if (drag) {
        const d = (e.clientX - drag.x) * (drag.b - drag.a) / plotW();
        setView(drag.a - d, drag.b - d);
      } else if (e.target === canvas) hover(e.offsetX, e.offsetY);
      else tip.style.display = "none";
    });
    window.addEventListener("keydown", (e) => {
      if (e.target === $("filter")) return;
      const act = {"ArrowLeft": () => pan(-0.25), "ArrowRight": () => pan(0.25), "+": () => zoom(0.5),
                   "=": () => zoom(0.5), "-": () => zoom(2), "0": () => setView(0, span)}[e.key];
      if (act) { e.preventDefault(); act(); }
    });
    window.addEventListener("resize", resize);
    parseFilter();
  }
  function resize() {
    W = Math.max(600, window.innerWidth);
    schedule();
  }
  // A timer, not requestAnimationFrame: headless and background tabs may not run
  // frames, and the page must settle there too (the tests read its status).
  function schedule() {
    status.dataset.ready = "0";
    if (!frame) frame = setTimeout(() => { frame = 0; render(); }, 16);
  }

  // ---- choosing a level ------------------------------------------------------
  function inView() {
    const ids = [];
    meta.chunks.forEach((c, i) => { if (c[1] >= view.a && c[0] <= view.b) ids.push(i); });
    return ids;
  }
  function estimate(ids) {
    let n = 0;
    for (const i of ids) {
      const [lo, hi, cnt] = meta.chunks[i];
      const len = Math.max(hi - lo, 1);
      n += cnt * Math.max(0, Math.min(hi, view.b) - Math.max(lo, view.a) + 1) / (len + 1);
    }
    return n;
  }
  function render() {
    if (!meta) return;
    parseFilter();
    const gen = ++generation, ids = inView();
    // The chunk before the window too: the ENTER of a span the window starts inside.
    const rids = ids.length && ids[0] > 0 ? [ids[0] - 1, ...ids] : ids;
    const coarse = (view.b - view.a) / meta.overview.width >= plotW() / 2;
    let want = "overview";
    if (estimate(ids) <= recordLimit) want = "records";
    else if (!coarse && ids.length <= SUMMARY_CHUNKS) want = "summary";
    const groups = [...new Set(ids.map((i) => Math.floor(i / meta.group_chunks)))];
    const missing = (want === "records" ? rids.map(needChunk) : want === "summary" ? groups.map(needGroup) : [])
      .filter(Boolean);
    if (!missing.length) { draw(want, want === "records" ? rids : ids, groups); done(want); return; }
    const haveSums = groups.every((g) => sums.has(g)) && !coarse;
    draw(haveSums ? "summary" : "overview", ids, groups);
    status.dataset.ready = "0";
    status.textContent = `loading ${missing.length} file(s)…`;
    Promise.all(missing).then(() => { if (gen === generation) render(); },
                              (err) => { status.textContent = String(err.message || err); });
  }
  function done(level) {
    status.dataset.ready = "1";
    if (!firstScreen) {
      firstScreen = true;
      status.dataset.firstScreenMs = performance.now().toFixed(1);
    }
    if (level === "records") evict();
  }
  function evict() {
    if (chunks.size <= KEEP_CHUNKS) return;
    const mid = (view.a + view.b) / 2, far = (id) => Math.abs((meta.chunks[id][0] + meta.chunks[id][1]) / 2 - mid);
    const ids = inView(), keep = new Set(ids.length ? [ids[0] - 1, ...ids] : ids);
    const order = [...chunks.keys()].filter((id) => !keep.has(id)).sort((p, q) => far(q) - far(p));
    while (chunks.size > KEEP_CHUNKS && order.length) chunks.delete(order.shift());
  }

  // ---- drawing -------------------------------------------------------------
  function frameLanes() {
    const h = laneTop(lanes.length) + 10;
    if (canvas.width !== W || canvas.height !== h) { canvas.width = W; canvas.height = h; H = h; }
    ctx.clearRect(0, 0, W, H);
    if (!hatch) {
      const p = document.createElement("canvas");
      p.width = p.height = 8;
      const q = p.getContext("2d");
      q.fillStyle = C.lossA; q.fillRect(0, 0, 8, 8);
      q.strokeStyle = C.lossB; q.lineWidth = 3;
      q.beginPath(); q.moveTo(-2, 10); q.lineTo(10, -2); q.stroke();
      hatch = ctx.createPattern(p, "repeat");
    }
    document.querySelectorAll(".lane").forEach((el) => el.remove());
    lanes.forEach((cpu, i) => {
      ctx.fillStyle = C.lane;
      ctx.fillRect(G.left, laneTop(i), plotW(), G.laneH);
      const el = document.createElement("div");
      el.className = "lane";
      el.dataset.cpu = cpu;
      el.textContent = "CPU " + cpu;
      el.style.top = (laneTop(i) + G.laneH / 2 - 9) + "px";
      $("stage").appendChild(el);
    });
    ctx.fillStyle = "#444"; ctx.strokeStyle = "#888"; ctx.font = "11px sans-serif"; ctx.textAlign = "center";
    for (let i = 0; i <= 5; i++) {
      const t = view.a + (view.b - view.a) * i / 5, px = x(t);
      ctx.fillText(tickLabel(t), Math.min(Math.max(px, 40), W - 40), G.top - 20);
      ctx.beginPath(); ctx.moveTo(px, G.top - 14); ctx.lineTo(px, G.top - 10); ctx.stroke();
    }
  }
  const laneOf = (cpu) => lanes.indexOf(cpu);
  let lossCpus = new Set();   // reported in #status: which lanes show loss (-1: no CPU known)
  function lossBox(cpu, x0, x1) {
    lossCpus.add(cpu);
    const rows = cpu < 0 ? lanes.map((_, i) => i) : [laneOf(cpu)];
    ctx.fillStyle = hatch;
    for (const i of rows) if (i >= 0) ctx.fillRect(Math.min(x0, x1 - 3), laneTop(i), Math.max(x1 - x0, 6), G.laneH);
  }
  function clip() {
    ctx.save();
    ctx.beginPath(); ctx.rect(G.left, 0, plotW(), H); ctx.clip();
  }

  function draw(level, ids, groups) {
    frameLanes();
    clip();
    hits = new Map();
    lossCpus = new Set();
    const st = level === "records" ? drawRecords(ids) : drawDensity(level, ids, groups);
    ctx.restore();
    Object.assign(status.dataset, {level, lanes: lanes.join(","),
                                   loss: [...lossCpus].sort((p, q) => p - q).join(","), ...st,
                                   window: stamp(view.a) + " .. " + stamp(view.b)});
    const what = level === "records" ? `${st.drawn} records` : `${st.total} items (density)`;
    status.textContent = `${level}: ${what}, ${stamp(view.a)} .. ${stamp(view.b)}` +
      (level !== "records" && filter.names.length ? " (the name filter applies to records: zoom in)" : "");
  }

  function drawDensity(level, ids, groups) {
    const n = Math.ceil(plotW()), per = new Map();
    for (const c of lanes.concat([-1])) per.set(c, [new Float64Array(n), new Float64Array(n), new Float64Array(n)]);
    let total = 0;
    const add = (cpu, lo, hi, counts) => {   // counts: [items, nmis, loss] of [lo, hi)
      const row = per.get(Number(cpu));
      if (!row || hi < view.a || lo > view.b) return;
      total += counts[0] + counts[2];
      const p0 = Math.max(0, Math.floor(x(lo) - G.left)), p1 = Math.min(n - 1, Math.floor(x(hi) - G.left));
      if (p1 < 0 || p0 > n - 1) return;
      const w = p1 - p0 + 1;
      for (let k = 0; k < 3; k++) if (counts[k]) for (let p = p0; p <= p1; p++) row[k][p] += counts[k] / w;
    };
    if (level === "overview") {
      const o = meta.overview;
      for (const [cpu, r] of Object.entries(o.rows)) {
        for (let i = 0; i < r[0].length; i++) {
          if (r[0][i] || r[1][i] || r[2][i]) add(cpu, i * o.width, (i + 1) * o.width, [r[0][i], r[1][i], r[2][i]]);
        }
      }
    } else {
      const nb = meta.sum_buckets;
      for (const id of ids) {
        const list = sums.get(Math.floor(id / meta.group_chunks));
        const rows = list[id % meta.group_chunks], [lo, hi] = meta.chunks[id], w = Math.max(hi - lo, 1) / nb;
        for (const [cpu, r] of Object.entries(rows)) {
          for (let i = 0; i < nb; i++) {
            if (r[0][i] || r[1][i] || r[2][i]) add(cpu, lo + i * w, lo + (i + 1) * w, [r[0][i], r[1][i], r[2][i]]);
          }
        }
      }
    }
    let peak = 1;
    for (const c of lanes) for (const v of per.get(c)[0]) peak = Math.max(peak, v);
    const scale = Math.log1p(peak);
    lanes.forEach((cpu, i) => {
      const [cnt, nmi, loss] = per.get(cpu), y1 = laneTop(i) + G.laneH;
      ctx.fillStyle = C.density;
      for (let p = 0; p < n; p++) {
        if (cnt[p] > 0) { const h = Math.max(1, (G.laneH - 8) * Math.log1p(cnt[p]) / scale); ctx.fillRect(G.left + p, y1 - h, 1, h); }
      }
      ctx.fillStyle = C.nmi;
      for (let p = 0; p < n; p++) if (nmi[p] > 0) ctx.fillRect(G.left + p, laneTop(i), 2, 8);
      for (let p = 0; p < n; p++) if (loss[p] > 0) lossBox(cpu, G.left + p - 2, G.left + p + 2);
    });
    const unknown = per.get(-1)[2];
    for (let p = 0; p < n; p++) if (unknown[p] > 0) lossBox(-1, G.left + p - 2, G.left + p + 2);
    return {total: Math.round(total), drawn: "", first: "", last: "", perCpu: ""};
  }

  function passes(name) {
    if (!filter.names.length) return true;
    return filter.names.some((f) => name.includes(f));
  }
  function nameOf(type) { const e = meta.events[type]; return e ? e[0] : "EV" + type; }
  function describe(r) {
    if (r[3] === -1) return `LOSS ${r[4]}: ${r[5]} ${r[6]} ${r[7] || ""}`;
    const e = meta.events[r[3]];
    if (!e) return `EV${r[3]} ${r.slice(4).join(" ")}`;
    const parts = [e[0]];
    e[1].forEach((f, i) => {
      let v = r[4 + i];
      if (f === "reason" && e[0].startsWith("INTERCEPT")) v = `${"0x" + Number(v).toString(16)}(${meta.exits[v] || "?"})`;
      else if (typeof v === "string" && e[0] === "TEXT") v = JSON.stringify(v);
      parts.push(`${f}=${v}`);
    });
    return parts.join(" ");
  }
  function hit(lane, px, r) {
    if (!hits.has(lane)) hits.set(lane, []);
    hits.get(lane).push([px, r]);
  }

  function drawRecords(ids) {
    const open = new Map(), openQ = new Map(), last = new Map(), marks = [], perCpu = new Map();
    let drawn = 0, first = null, lastK = null;
    const cpuOk = (cpu) => cpu < 0 || !filter.cpus || filter.cpus.has(cpu);
    const bar = (lane, band, t0, t1, colour) => {
      const y = laneTop(lane) + (band ? 38 : 4), h = band ? G.laneH - 42 : 30;
      const x0 = x(t0), x1 = x(t1);
      if (x1 < G.left - 1 || x0 > W) return;
      ctx.fillStyle = colour;
      ctx.fillRect(x0, y, Math.max(x1 - x0, 1), h);
    };
    for (const id of ids) {
      for (const r of chunks.get(id)) {
        const [k, t, cpu, type] = r;
        if (!cpuOk(cpu)) continue;
        const lane = laneOf(cpu);
        if (type === -1) {
          if (NOT_DATA_LOSS.has(r[4])) continue;
          const from = cpu >= 0 && last.has(cpu) ? last.get(cpu) : t;
          if (t >= view.a && from <= view.b) {
            lossBox(cpu, x(from), x(t));
            hit(lane < 0 ? 0 : lane, x(t), r);
          }
          if (cpu >= 0) last.set(cpu, t);
          continue;
        }
        last.set(cpu, t);
        const name = nameOf(type);
        const shown = passes(name);
        const visible = shown && t >= view.a && t <= view.b;
        if (visible) {
          drawn++;
          if (first === null) first = k;
          lastK = k;
          perCpu.set(cpu, (perCpu.get(cpu) || 0) + 1);
        }
        if (name === "INTERCEPT_ENTER" || name === "EXCEPTION_ENTER") {
          if (shown) open.set(cpu + name, t);
        } else if (name === "INTERCEPT_LEAVE" || name === "EXCEPTION_LEAVE") {
          const key = cpu + name.replace("LEAVE", "ENTER");
          if (open.has(key)) {
            bar(lane, false, open.get(key), t, name.startsWith("INTERCEPT") ? C.intercept : C.exception);
            open.delete(key);
          }
        } else if (name === "QUIESCE_REQUEST" || name === "QUIESCE_ACK") {
          if (shown) openQ.set(cpu, t);
        } else if ((name === "QUIESCE_END" || name === "QUIESCE_RESUME") && openQ.has(cpu)) {
          bar(lane, true, openQ.get(cpu), t, C.quiesce);
          openQ.delete(cpu);
        }
        if (visible) marks.push([lane, t, name, r]);
      }
    }
    for (const [key, t0] of open) {
      const cpu = parseInt(key, 10);
      bar(laneOf(cpu), false, t0, view.b, key.includes("INTERCEPT") ? C.intercept : C.exception);
    }
    for (const [cpu, t0] of openQ) bar(laneOf(cpu), true, t0, view.b, C.quiesce);
    const colour = {HOST_NMI: C.nmi, NMI_INJECT: C.inject, NMI_MERGED: C.merged};
    for (const [lane, t, name, r] of marks) {
      const px = x(t), y0 = laneTop(lane), y1 = y0 + G.laneH;
      hit(lane, px, r);
      if (colour[name]) {
        ctx.strokeStyle = ctx.fillStyle = colour[name]; ctx.lineWidth = 3;
        ctx.beginPath(); ctx.moveTo(px, y0); ctx.lineTo(px, y1); ctx.stroke();
        ctx.beginPath(); ctx.moveTo(px - 6, y0 - 8); ctx.lineTo(px + 6, y0 - 8); ctx.lineTo(px, y0); ctx.fill();
      } else if (name === "PANIC") {
        ctx.strokeStyle = C.nmi; ctx.lineWidth = 4;
        ctx.beginPath(); ctx.moveTo(px - 8, y0); ctx.lineTo(px + 8, y1); ctx.moveTo(px + 8, y0); ctx.lineTo(px - 8, y1); ctx.stroke();
      } else if (!/^(INTERCEPT|EXCEPTION)_(ENTER|LEAVE)$/.test(name)) {
        ctx.strokeStyle = C.other; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(px, y1 - 10); ctx.lineTo(px, y1); ctx.stroke();
      }
    }
    for (const list of hits.values()) list.sort((p, q) => p[0] - q[0]);
    return {drawn, first: first ?? "", last: lastK ?? "", total: "",
            perCpu: [...perCpu].sort((p, q) => p[0] - q[0]).map(([c, n]) => `${c}:${n}`).join(" ")};
  }

  function hover(px, py) {
    const lane = Math.floor((py - G.top) / (G.laneH + G.gap));
    const list = hits.get(lane);
    if (!list || !list.length) { tip.style.display = "none"; return; }
    let lo = 0, hi = list.length - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (list[m][0] < px) lo = m + 1; else hi = m; }
    const best = [list[lo], list[lo - 1]].filter(Boolean).sort((p, q) => Math.abs(p[0] - px) - Math.abs(q[0] - px))[0];
    if (Math.abs(best[0] - px) > 5) { tip.style.display = "none"; return; }
    const r = best[1];
    tip.textContent = `#${r[0]} ${stamp(r[1])} cpu ${r[2] < 0 ? "?" : r[2]}\n${describe(r)}`;
    tip.style.left = Math.min(px + 12, W - 300) + "px";
    tip.style.top = (py + 12) + "px";
    tip.style.display = "block";
  }

  return {overview, chunk, sums: sumsArrived};
})();
