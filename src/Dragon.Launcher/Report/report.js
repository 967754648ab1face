"use strict";
// The run report: reads the run's history from the JSON element #report-data and draws it. No library, no network.
// The process timeline is one canvas (thousands of bars cost one draw call each); groups, charts and the failures
// table are DOM/SVG with stable data attributes (data-group, data-mpi, data-ranks, data-rank) that tests count.
(function () {
  var errors = [];
  function fail(text) {
    errors.push(text);
    var box = document.getElementById("script-errors");
    box.hidden = false;
    box.textContent = "Script errors:\n" + errors.join("\n");
    document.body.dataset.errors = String(errors.length);
  }
  window.onerror = function (message, source, line, column) { fail(message + " (line " + line + ":" + column + ")"); };
  window.addEventListener("unhandledrejection", function (e) { fail("unhandled rejection: " + e.reason); });

  var KINDS = ["running", "ok", "failed", "killed", "lost"];
  var COLORS = ["#3b7ddd", "#2f9e5b", "#d83b3b", "#e8912d", "#8e44ad"];
  var PALETTE = ["#3b7ddd", "#e8912d", "#2f9e5b", "#d83b3b", "#8e44ad", "#17a2b8", "#b8860b", "#e83e8c", "#6c757d", "#20c997"];
  var C = { puid: 0, node: 1, name: 2, group: 3, rank: 4, start: 5, end: 6, kind: 7, code: 8, signal: 9, reason: 10 };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { if (k === "class") e.className = attrs[k]; else if (k === "style") e.style.cssText = attrs[k]; else e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function duration(ms) {
    if (ms < 0) return "—";
    if (ms < 1000) return Math.round(ms) + " ms";
    var s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + String(Math.floor(s % 60)).padStart(2, "0") + " s";
    return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
  }
  function bytes(n) {
    if (n < 0) return "—";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
  }
  function niceStep(span, count) {
    var raw = span / Math.max(count, 1), pow = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var steps = [1, 2, 5, 10], i = 0;
    while (i < steps.length - 1 && steps[i] * pow < raw) i++;
    return steps[i] * pow;
  }

  function render() {
    var data = JSON.parse(document.getElementById("report-data").textContent);
    var procs = data.processes, total = Math.max(data.durationMs, 1);
    procs.forEach(function (p) { if (p[C.end] < 0) p[C.end] = data.durationMs; });
    var byGroup = {};
    procs.forEach(function (p) { if (p[C.group] !== 0) (byGroup[p[C.group]] = byGroup[p[C.group]] || []).push(p); });

    header(data);
    summary(data, procs);
    var width = document.getElementById("timeline-wrap").clientWidth;
    var gutter = 170, plot = width - gutter - 8;
    var x = function (ms) { return gutter + (ms / total) * plot; };
    axis(document.getElementById("timeline-axis"), total, plot);
    timeline(data, procs, width, gutter, x);
    groups(data, byGroup, total);
    charts(data);
    failures(data, procs);
    footer(data);
  }

  function header(data) {
    var started = new Date(data.startedAt).toISOString().replace("T", " ").slice(0, 19) + " UTC";
    document.getElementById("run-id").textContent = "run " + data.runId + " · started " + started + (data.final ? "" : " · snapshot while running");
    document.getElementById("command").textContent = data.command;
    document.title = "Dragon run " + data.runId;
  }

  function summary(data, procs) {
    var counts = [0, 0, 0, 0, 0];
    procs.forEach(function (p) { counts[p[C.kind]]++; });
    var mpi = data.groups.filter(function (g) { return g.mpi; }).length;
    var cards = [
      ["duration", duration(data.durationMs), ""],
      ["nodes", data.nodes.length, ""], ["processes", data.counts.started, ""], ["ok", counts[1], "ok"], ["failed", counts[2], "failed"],
      ["killed", counts[3], "killed"], ["node lost", counts[4], "lost"], ["running", counts[0], "running"],
      ["groups", data.groups.length, ""], ["MPI jobs", mpi, ""]];
    var box = document.getElementById("summary");
    cards.forEach(function (c) {
      var card = el("div", { "class": "card " + c[2], "data-count": c[0] });
      card.appendChild(el("div", { "class": "value" }, String(c[1])));
      card.appendChild(el("div", { "class": "label" }, c[0]));
      box.appendChild(card);
    });
  }

  function axis(box, total, plot) {
    var step = niceStep(total, Math.max(2, Math.floor(plot / 110)));
    for (var t = 0; t <= total + 1e-9; t += step) {
      box.appendChild(el("span", { style: "left:" + (t / total * 100) + "%" }, duration(t)));
    }
  }

  // One lane per node; within a lane, processes packed greedily into rows so overlapping ones never hide each other.
  function timeline(data, procs, width, gutter, x) {
    var canvas = document.getElementById("timeline"), maxRows = 32, lanes = [];
    data.nodes.forEach(function (n) { lanes[n.index] = { node: n, rows: [], items: [] }; });
    var order = procs.slice().sort(function (a, b) { return a[C.start] - b[C.start]; });
    var pad = data.durationMs / Math.max(width, 1) * 2;
    order.forEach(function (p) {
      var lane = lanes[p[C.node]] || (lanes[p[C.node]] = { node: { index: p[C.node], name: "node " + p[C.node] }, rows: [], items: [] });
      var row = 0;
      while (row < lane.rows.length && lane.rows[row] > p[C.start] - pad) row++;
      if (row >= maxRows) row = lane.items.length % maxRows; else lane.rows[row] = p[C.end];
      lane.items.push({ p: p, row: row });
    });
    var y = 0, layout = [];
    lanes.forEach(function (lane) {
      if (!lane) return;
      var rows = Math.max(1, Math.min(maxRows, lane.rows.length));
      var rowH = rows <= 6 ? 16 : rows <= 16 ? 9 : 4, height = rows * rowH + 12;
      layout.push({ lane: lane, top: y, rowH: rowH, height: height });
      y += height;
    });
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(Math.max(y, 30) * dpr);
    canvas.style.height = Math.max(y, 30) + "px";
    canvas.dataset.processes = String(procs.length);
    canvas.dataset.lanes = String(layout.length);
    var g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.font = "11px system-ui, 'DejaVu Sans', sans-serif";
    layout.forEach(function (l, i) {
      g.fillStyle = i % 2 ? "#fafbfc" : "#ffffff";
      g.fillRect(0, l.top, width, l.height);
      g.strokeStyle = "#e3e7ee"; g.beginPath(); g.moveTo(0, l.top + l.height - 0.5); g.lineTo(width, l.top + l.height - 0.5); g.stroke();
      g.fillStyle = "#1d2430"; g.font = "600 12px system-ui, 'DejaVu Sans', sans-serif";
      g.fillText(l.lane.node.name, 8, l.top + 16);
      g.fillStyle = "#667085"; g.font = "11px system-ui, 'DejaVu Sans', sans-serif";
      g.fillText(l.lane.items.length + " processes" + (l.lane.node.lost ? " · lost" : ""), 8, l.top + 30 > l.top + l.height - 2 ? l.top + l.height - 2 : l.top + 30);
      l.lane.items.forEach(function (it) {
        var p = it.p, x0 = x(p[C.start]), x1 = Math.max(x(p[C.end]), x0 + 2), by = l.top + 6 + it.row * l.rowH, bh = Math.max(2, l.rowH - (l.rowH > 6 ? 3 : 1));
        it.box = [x0, by, x1, by + bh];
        g.fillStyle = COLORS[p[C.kind]];
        g.fillRect(x0, by, x1 - x0, bh);
        if (bh >= 12 && x1 - x0 > 70) {
          g.save(); g.beginPath(); g.rect(x0, by, x1 - x0 - 3, bh); g.clip();
          g.fillStyle = "#fff"; g.fillText(data.names[p[C.name]] + (p[C.group] ? " g" + p[C.group] + " r" + p[C.rank] : ""), x0 + 4, by + bh - 3);
          g.restore();
        }
      });
    });
    tooltips(canvas, layout, data);
  }

  function describe(data, p) {
    var lines = [data.names[p[C.name]] + " · puid " + p[C.puid], "node " + p[C.node] + (p[C.group] ? " · group " + p[C.group] + " rank " + p[C.rank] : ""),
      duration(p[C.start]) + " → " + (p[C.kind] === 0 ? "running" : duration(p[C.end])) + " (" + duration(p[C.end] - p[C.start]) + ")"];
    if (p[C.reason] >= 0) lines.push(data.reasons[p[C.reason]]);
    return lines.join("\n");
  }

  function tooltips(canvas, layout, data) {
    var tip = document.getElementById("tooltip");
    canvas.addEventListener("mousemove", function (e) {
      var r = canvas.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top, hit = null;
      layout.forEach(function (l) {
        if (my < l.top || my >= l.top + l.height) return;
        l.lane.items.forEach(function (it) { var b = it.box; if (b && mx >= b[0] - 1 && mx <= b[2] + 1 && my >= b[1] && my <= b[3]) hit = it.p; });
      });
      if (!hit) { tip.style.display = "none"; return; }
      tip.textContent = describe(data, hit); tip.style.whiteSpace = "pre-line";
      tip.style.display = "block"; tip.style.left = (e.clientX + 14) + "px"; tip.style.top = (e.clientY + 12) + "px";
    });
    canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }

  // Groups and MPI jobs: a band from the first member's start to the last member's end, each rank a bar inside it.
  function groups(data, byGroup, total) {
    var box = document.getElementById("groups"), shown = 0, maxShown = 400, maxRanks = 64;
    if (data.groups.length === 0) { box.appendChild(el("div", { "class": "muted" }, "No process groups in this run.")); return; }
    data.groups.forEach(function (g) {
      if (shown++ >= maxShown) return;
      var members = (byGroup[g.id] || []).slice().sort(function (a, b) { return a[C.rank] - b[C.rank] || a[C.start] - b[C.start]; });
      var start = members.length ? Math.min.apply(null, members.map(function (p) { return p[C.start]; })) : g.created;
      var end = members.length ? Math.max.apply(null, members.map(function (p) { return p[C.end]; })) : g.created;
      var failed = members.some(function (p) { return p[C.kind] === 2 || p[C.kind] === 4; }) || !!g.failure;
      var row = el("div", { "class": "group-row", "data-group": String(g.id), "data-mpi": g.mpi ? "1" : "0", "data-ranks": String(members.length), "data-size": String(g.size) });
      var who = el("div", { "class": "who" });
      who.appendChild(el("b", {}, (g.mpi ? "MPI job " : "group ") + g.id));
      who.appendChild(document.createTextNode(" · " + g.size + (g.mpi ? " ranks" : " members")));
      who.appendChild(el("div", { "class": "state" }, g.state + " · " + duration(end - start) + (members.length ? " · " + data.names[members[0][C.name]] : "")));
      row.appendChild(who);
      var track = el("div", { "class": "track" });
      // The group's failure names its first failing member by puid: that bar is outlined.
      var failing = g.failure && /puid (\d+)/.exec(g.failure);
      var drawn = members.slice(0, maxRanks), rankH = drawn.length > 16 ? 4 : 11;
      track.style.minHeight = Math.max(22, drawn.length * (rankH + 1) + 10) + "px";
      var band = el("div", { "class": "band" + (g.mpi ? " mpi" : "") + (failed ? " failed" : ""), "data-span": "1",
        style: "left:" + (start / total * 100) + "%;width:" + Math.max((end - start) / total * 100, 0.15) + "%" });
      if (g.failure) band.title = g.failure;
      track.appendChild(band);
      drawn.forEach(function (p, i) {
        var left = (p[C.start] / total) * 100, w = Math.max((p[C.end] - p[C.start]) / total * 100, 0.1);
        var bar = el("div", { "class": "rank kind-" + p[C.kind], "data-rank": String(p[C.rank]), "data-puid": String(p[C.puid]), "data-kind": KINDS[p[C.kind]],
          style: "left:" + left + "%;width:" + w + "%;top:" + (5 + i * (rankH + 1)) + "px;height:" + rankH + "px" }, rankH > 8 ? "r" + p[C.rank] : "");
        bar.title = describe(data, p);
        if (failing && String(p[C.puid]) === failing[1]) { bar.classList.add("failing"); bar.dataset.failing = "1"; }
        track.appendChild(bar);
      });
      if (members.length > drawn.length) track.appendChild(el("div", { "class": "muted", style: "position:absolute;right:4px;bottom:2px" }, "+" + (members.length - drawn.length) + " ranks"));
      row.appendChild(track);
      box.appendChild(row);
    });
    if (data.groups.length > maxShown) box.appendChild(el("div", { "class": "more" }, "… and " + (data.groups.length - maxShown) + " more groups"));
  }

  function chart(title, t, series, format, integer) {
    var box = el("div", { "class": "chart", "data-chart": title });
    box.appendChild(el("h3", {}, title));
    var keys = el("div", { "class": "keys" });
    series.slice(0, 12).forEach(function (s) { var k = el("span"); var i = el("i", { style: "background:" + s.color }); k.appendChild(i); k.appendChild(document.createTextNode(s.name)); keys.appendChild(k); });
    if (series.length > 12) keys.appendChild(el("span", {}, "+" + (series.length - 12) + " more"));
    box.appendChild(keys);
    var values = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v >= 0) values.push(v); }); });
    if (t.length === 0 || values.length === 0) { box.appendChild(el("div", { "class": "empty" }, "no samples")); return box; }
    var W = 600, H = 170, L = 52, R = 8, T = 8, B = 20, tMax = Math.max(t[t.length - 1], 1);
    var yMax = Math.max.apply(null, values); yMax = yMax <= 0 ? 1 : yMax * 1.08;
    var step = integer ? Math.max(1, niceStep(yMax, 4)) : niceStep(yMax, 4), svg = ['<svg viewBox="0 0 ' + W + " " + H + '" preserveAspectRatio="none" role="img">'];
    for (var v = 0; v <= yMax; v += step) {
      var yy = T + (H - T - B) * (1 - v / yMax);
      svg.push('<line x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '" stroke="#eef1f5"/><text x="' + (L - 6) + '" y="' + (yy + 3) + '" text-anchor="end">' + format(v) + "</text>");
    }
    var tStep = niceStep(tMax, 5);
    for (var s = 0; s <= tMax; s += tStep) svg.push('<text x="' + (L + (W - L - R) * s / tMax) + '" y="' + (H - 5) + '" text-anchor="middle">' + duration(s) + "</text>");
    series.forEach(function (se) {
      var pts = [];
      se.values.forEach(function (val, i) { if (val >= 0) pts.push((L + (W - L - R) * t[i] / tMax).toFixed(1) + "," + (T + (H - T - B) * (1 - val / yMax)).toFixed(1)); });
      if (pts.length === 1) pts.push(pts[0]);
      svg.push('<polyline fill="none" stroke="' + se.color + '" stroke-width="' + (se.bold ? 2.2 : 1.4) + '" vector-effect="non-scaling-stroke" stroke-linejoin="round" points="' + pts.join(" ") + '"/>');
    });
    svg.push("</svg>");
    box.insertAdjacentHTML("beforeend", svg.join(""));
    return box;
  }

  function charts(data) {
    var s = data.samples, box = document.getElementById("charts"), nodes = s.nodes;
    var name = function (i) { return data.nodes[i] ? data.nodes[i].name : "node " + i; };
    var perNode = function (field, scale) { return nodes.map(function (n, i) { return { name: name(i), color: PALETTE[i % PALETTE.length], values: n[field].map(function (v) { return v < 0 ? -1 : v * scale; }) }; }); };
    var count = function (v) { return v >= 1000 ? (v / 1000).toFixed(1) + "k" : String(Math.round(v)); };
    var live = perNode("live", 1);
    if (nodes.length > 1) live.unshift({ name: "all nodes", color: "#1d2430", values: s.live, bold: true });
    box.appendChild(chart("Live processes", s.t, live, count, true));
    box.appendChild(chart("Processes started, exited, failed (cumulative)", s.t, [
      { name: "started", color: COLORS[0], values: s.started, bold: true }, { name: "exited", color: COLORS[1], values: s.exited }, { name: "failed", color: COLORS[2], values: s.failed }], count, true));
    box.appendChild(chart("Node CPU busy (host)", s.t, perNode("cpu", 0.1), function (v) { return Math.round(v) + "%"; }));
    box.appendChild(chart("Node memory used (host)", s.t, perNode("memory", 1), bytes));
    var depth = perNode("depth", 1);
    if (nodes.length > 1) depth.unshift({ name: "all channels", color: "#1d2430", values: s.depth, bold: true });
    box.appendChild(chart("Messages waiting in queues and pipes", s.t, depth, count, true));
    document.getElementById("charts-note").textContent = s.t.length + " samples, every " + duration(data.sampleIntervalMs);
  }

  function failures(data, procs) {
    var failedGroups = data.groups.filter(function (g) { return g.failure; });
    var groupBox = document.getElementById("group-failures");
    failedGroups.slice(0, 100).forEach(function (g) {
      var line = el("div", { "class": "group-failure", "data-group": String(g.id) });
      line.appendChild(el("b", {}, (g.mpi ? "MPI job " : "group ") + g.id + ": "));
      line.appendChild(document.createTextNode(g.failure));
      groupBox.appendChild(line);
    });
    if (failedGroups.length > 100) groupBox.appendChild(el("div", { "class": "more", style: "padding-left:0" }, "… and " + (failedGroups.length - 100) + " more groups failed"));
    var rows = procs.filter(function (p) { return p[C.kind] === 2 || p[C.kind] === 4; });
    var killed = procs.filter(function (p) { return p[C.kind] === 3; });
    var box = document.getElementById("failures"), maxRows = 300;
    document.getElementById("failures-note").textContent = rows.length + " failed or lost, " + killed.length + " stopped or killed" +
      (data.keepsStderr ? "" : " · stderr tails are kept only with dragon --report");
    var list = rows.concat(killed);
    if (list.length === 0) { box.appendChild(el("div", { "class": "muted" }, "No process failed.")); return; }
    var table = el("table", { id: "failures-table" }), head = el("tr");
    ["puid", "node", "program", "group / rank", "ended", "how", "reason and last lines of stderr"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(head);
    list.slice(0, maxRows).forEach(function (p) {
      var tr = el("tr", { "data-puid": String(p[C.puid]), "data-kind": KINDS[p[C.kind]] });
      tr.appendChild(el("td", { "class": "num" }, String(p[C.puid])));
      tr.appendChild(el("td", {}, data.nodes[p[C.node]] ? data.nodes[p[C.node]].name : String(p[C.node])));
      tr.appendChild(el("td", {}, data.names[p[C.name]]));
      tr.appendChild(el("td", { "class": "num" }, p[C.group] ? p[C.group] + " / " + p[C.rank] : "—"));
      tr.appendChild(el("td", { "class": "num" }, duration(p[C.end])));
      var how = el("td"); how.appendChild(el("span", { "class": "pill kind-" + p[C.kind] }, KINDS[p[C.kind]])); tr.appendChild(how);
      var why = el("td");
      why.appendChild(el("div", {}, p[C.reason] >= 0 ? data.reasons[p[C.reason]] : ""));
      var tail = data.stderrTails[String(p[C.puid])];
      if (tail && tail.length) why.appendChild(el("pre", { "class": "tail", "data-tail": String(p[C.puid]) }, tail.join("\n")));
      tr.appendChild(why);
      table.appendChild(tr);
    });
    box.appendChild(table);
    if (list.length > maxRows) box.appendChild(el("div", { "class": "more", style: "padding-left:0" }, "… and " + (list.length - maxRows) + " more"));
  }

  function footer(data) {
    var c = data.counts, caps = data.caps, notes = ["Caps: " + caps.processes + " processes, " + caps.groups + " groups, stderr tails of " + caps.tails +
      " processes at once (" + caps.tailLines + " lines each), " + caps.samples + " samples (thinned by half when full), " + caps.nodeSeries + " nodes plotted one by one."];
    if (c.processesNotKept) notes.push(c.processesNotKept + " processes not drawn (cap).");
    if (c.groupsNotKept) notes.push(c.groupsNotKept + " groups not drawn (cap).");
    if (c.tailsNotKept) notes.push(c.tailsNotKept + " stderr lines of processes past the tail cap not kept.");
    if (c.samplesDropped) notes.push(c.samplesDropped + " samples thinned out.");
    document.getElementById("footer").textContent = notes.join(" ");
  }

  try {
    var began = performance.now();
    render();
    document.body.dataset.renderMs = String(Math.round(performance.now() - began));
    document.body.dataset.rendered = errors.length ? "error" : "ok";
  } catch (e) {
    fail(String(e && e.stack || e));
    document.body.dataset.rendered = "error";
  }
})();
