// The dashboard: one panel per topic, updated in place. Uses only watchcast.js.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var state = { memory: {}, skills: {} };

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function flash(e) {
    e.classList.remove("changed"); void e.offsetWidth; e.classList.add("changed");
    clearTimeout(e._fade); e._fade = setTimeout(function () { e.classList.remove("changed"); }, 1300); // animationend is not reliable for nodes flashed before insertion
  }
  function ago(ms) { var s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + "s ago" : s < 3600 ? Math.round(s / 60) + "m ago" : new Date(ms).toLocaleString(); }

  fetch("/config.json").then(function (r) { return r.json(); }).then(function (config) {
    $("dir").textContent = config.dir || "";
    var options = Object.assign({ url: config.websocketUrl || null, transports: config.transports }, config.client || {});
    var client = Watchcast.connect(options);
    window.watchcastClient = client; // for tests and curious users

    client.onStatus(function (status, transport) {
      var dot = $("dot");
      dot.className = "dot " + (status === "live" && transport === "websocket" ? "live" : status === "offline" || status === "connecting" ? "offline" : "fallback");
      $("status").textContent = status === "live" ? "live (" + transport + ")" : status;
      document.body.dataset.status = status; document.body.dataset.transport = transport || "";
    });

    client.subscribe("stats", function (m) { if (m.data && !Array.isArray(m.data)) renderStats(m.data); });
    client.subscribe("memory", function (m) { if (m.data && m.data.notes) renderList("memory", m.data.notes, renderNote); });
    client.subscribe("skills", function (m) { if (m.data && m.data.skills) renderList("skills", m.data.skills, renderSkill); });
    client.subscribe("logs", function (m) { if (m.type === "reset") $("logs").textContent = ""; else if (m.data) renderLogs(m.data, m.type === "snapshot"); });
  });

  function renderStats(s) {
    var box = $("stats"), items = [
      ["cpu", pct(s.cpu), "CPU", s.cpu], ["load", fix(s.load), "load average", null],
      ["mem", mb(s.memUsedMb) + " / " + mb(s.memTotalMb), "memory", s.memTotalMb ? s.memUsedMb / s.memTotalMb : null],
      ["heap", mb(s.heapUsedMb) + " / " + mb(s.heapMaxMb), "JVM heap", s.heapMaxMb ? s.heapUsedMb / s.heapMaxMb : null],
      ["threads", String(s.threads), "threads", null], ["uptime", dur(s.uptimeSeconds), "uptime", null]];
    if (!box.querySelector(".metric")) box.textContent = "";
    items.forEach(function (it) {
      var m = box.querySelector('[data-k="' + it[0] + '"]');
      if (!m) { m = el("div", "metric"); m.dataset.k = it[0]; m.append(el("b"), el("span", null, it[2]), el("div", "bar")); m.lastChild.append(el("i")); box.append(m); }
      m.querySelector("b").textContent = it[1];
      m.querySelector(".bar").style.visibility = it[3] == null ? "hidden" : "visible";
      if (it[3] != null) m.querySelector(".bar i").style.width = Math.round(Math.min(1, it[3]) * 100) + "%";
    });
  }
  function pct(x) { return x == null || x < 0 ? "–" : Math.round(x * 100) + "%"; }
  function fix(x) { return x == null || x < 0 ? "–" : x.toFixed(2); }
  function mb(x) { return x == null ? "–" : x >= 1024 ? (x / 1024).toFixed(1) + " GB" : Math.round(x) + " MB"; }
  function dur(s) { return s == null ? "–" : s < 120 ? s + " s" : s < 7200 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h"; }

  // Keyed update in place: only items whose content changed are touched (and flash).
  function renderList(kind, items, render) {
    var box = $(kind), seen = {}, known = state[kind];
    if (box.querySelector(".muted")) box.textContent = "";
    items.forEach(function (item, i) {
      var key = item.name, sig = JSON.stringify(item), row = known[key];
      seen[key] = true;
      if (!row) { row = known[key] = { node: render(item), sig: sig }; flash(row.node); }
      else if (row.sig !== sig) { var fresh = render(item); row.node.replaceWith(fresh); row.node = fresh; row.sig = sig; flash(fresh); }
      if (box.children[i] !== row.node) box.insertBefore(row.node, box.children[i] || null);
    });
    Object.keys(known).forEach(function (key) { if (!seen[key]) { known[key].node.remove(); delete known[key]; } });
  }
  function renderNote(n) {
    var li = el("li"); li.dataset.name = n.name;
    var head = el("div"); head.append(el("span", "title", n.title || n.name), el("span", "kind", n.kind + " · " + ago(n.modified)));
    li.append(head, el("div", "text", n.text || ""));
    return li;
  }
  function renderSkill(s) {
    var tr = el("tr"); tr.dataset.name = s.name;
    tr.append(el("td", null, s.name), el("td", null, s.description || ""), el("td", null, String(s.files)), el("td", "muted", ago(s.modified)));
    return tr;
  }
  function flatten(x) { return Array.isArray(x) ? x.reduce(function (a, y) { return a.concat(flatten(y)); }, []) : x ? [x] : []; }
  function renderLogs(batch, replace) {
    var pre = $("logs"), atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (replace) pre.textContent = "";
    // A batch topic's data is the list of what was published; each publish is a list of chunks.
    flatten(batch).forEach(function (entry) {
      (entry.lines || []).forEach(function (line) {
        var row = el("div"); row.append(el("span", "file", entry.file + " "), document.createTextNode(line));
        pre.append(row); flash(row);
      });
    });
    while (pre.childNodes.length > 500) pre.removeChild(pre.firstChild);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }
})();
