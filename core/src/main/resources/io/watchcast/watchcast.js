/* watchcast.js: browser client, Watchcast protocol v1. No build, no dependency. Sets globalThis.Watchcast
 * (as a <script>, or imported as a module). Docs: docs/CLIENT.md. Apache-2.0. */
(function (g) {
  "use strict";
  var DEFAULTS = {
    url: null, // default ws(s)://<page host>/ws
    sseUrl: "/events", apiUrl: "/api/topics",
    transports: ["websocket", "sse", "polling"],
    minDelay: 500, maxDelay: 20000, // backoff bounds (ms), full jitter
    fallbackAfter: 3, // failed attempts before the next transport
    pingInterval: 30000, pongTimeout: 10000,
    pollInterval: 2000, upgradeInterval: 30000, // retry WebSocket from a fallback every upgradeInterval
    eventTypes: [] // application types to receive over SSE
  };

  function connect(options) {
    var o = {}, k;
    for (k in DEFAULTS) o[k] = DEFAULTS[k];
    for (k in options || {}) o[k] = options[k];
    if (!o.url && g.location) o.url = (g.location.protocol === "https:" ? "wss://" : "ws://") + g.location.host + "/ws";

    var topics = {}; // name -> {handlers: [], epoch, id, etag}
    var statusHandlers = [], status = null, transport = null;
    var ws = null, es = null, lastEventId = "", closed = false;
    var wsFailures = 0, sseFailures = 0, attempt = 0, mode = first("websocket") ? "websocket" : first("sse") ? "sse" : "polling";
    var timers = {};

    function first(t) { return o.transports.indexOf(t) >= 0; }
    function later(name, fn, ms) { clearTimeout(timers[name]); timers[name] = setTimeout(fn, ms); }
    function stop(name) { clearTimeout(timers[name]); clearInterval(timers[name]); delete timers[name]; }
    function backoff() {
      var cap = Math.min(o.maxDelay, o.minDelay * Math.pow(2, attempt++));
      return o.minDelay + Math.random() * Math.max(0, cap - o.minDelay);
    }
    function setStatus(s, t) {
      if (s === status && t === transport) return;
      status = s; transport = t;
      for (var i = 0; i < statusHandlers.length; i++) try { statusHandlers[i](s, t); } catch (e) { report(e); }
    }
    function report(e) { if (g.console) g.console.error("watchcast:", e); }

    function deliver(env) {
      var t = topics[env.topic];
      if (env.topic === "*" || !t) { // learned through "*"
        if (topics["*"] && env.topic !== "*") t = topics[env.topic] = topics[env.topic] || { handlers: [], wild: true };
        else if (!t) return;
      }
      if (env.epoch != null && env.id) {
        if (env.epoch === t.epoch && env.id <= t.id) return; // duplicate, or a snapshot of what we have
        t.epoch = env.epoch; t.id = env.id;
      }
      // Nothing published yet: resume from 0, so what comes meanwhile is replayed.
      if (env.type === "subscribed" && env.data && env.data.id === 0) { t.epoch = env.data.epoch; t.id = 0; }
      if (env.type === "reset" && env.data) { t.epoch = env.data.id ? null : env.data.epoch; t.id = 0; refetch(env.topic); }
      var hs = t.handlers.concat(t.wild && topics["*"] ? topics["*"].handlers : []);
      for (var i = 0; i < hs.length; i++) try { hs[i](env); } catch (e) { report(e); }
    }

    // After reset, the snapshot over REST too: the second copy to arrive is a duplicate.
    function refetch(name) {
      fetch(o.apiUrl + "/" + encodeURIComponent(name), { cache: "no-store" }).then(function (r) { return r.status === 200 ? r.json() : null; })
        .then(function (env) { if (env && env.type) deliver(env); }).catch(function () {});
    }

    function subscribeMessage(name) {
      var t = topics[name], m = { action: "subscribe", topic: name };
      if (t.epoch && t.id >= 0) { m.since = t.id; m.epoch = t.epoch; }
      return JSON.stringify(m);
    }

    // ---- WebSocket
    function openWebSocket(probe) {
      var sock, opened = false;
      try { sock = new WebSocket(o.url); } catch (e) { return failed(); }
      if (!probe) { ws = sock; setStatus("connecting", "websocket"); }
      sock.onopen = function () {
        opened = true;
        if (probe) { stopFallback(); ws = sock; }
        mode = "websocket"; wsFailures = 0; attempt = 0; sseFailures = 0;
        for (var name in topics) if (!topics[name].wild) sock.send(subscribeMessage(name));
        setStatus("live", "websocket");
        heartbeat();
      };
      sock.onmessage = function (ev) {
        later("pong", dead, o.pingInterval + o.pongTimeout); // any traffic proves life
        var env; try { env = JSON.parse(ev.data); } catch (e) { return; }
        if (env.type !== "pong") deliver(env);
      };
      sock.onclose = function () {
        if (ws !== sock) return; // a probe that never took over
        ws = null; stop("ping"); stop("pong");
        if (!opened) failed(); else if (!closed) retry();
      };
      sock.onerror = function () {};
      if (probe) later("probeTimeout", function () { if (ws !== sock) sock.close(); }, 10000);
      function failed() {
        if (closed || probe) return;
        ws = null;
        if (++wsFailures >= o.fallbackAfter && (first("sse") || first("polling"))) { mode = first("sse") ? "sse" : "polling"; attempt = 0; return fallback(); }
        retry();
      }
    }
    function heartbeat() {
      stop("ping");
      timers.ping = setInterval(function () { if (ws && ws.readyState === 1) ws.send('{"action":"ping"}'); }, o.pingInterval);
      later("pong", dead, o.pingInterval + o.pongTimeout);
    }
    function dead() { if (ws) { var s = ws; ws = null; s.close(); stop("ping"); retry(); } }
    function retry() {
      if (closed) return;
      setStatus("offline", null);
      later("reconnect", function () { mode === "websocket" ? openWebSocket(false) : fallback(); }, backoff());
    }

    // ---- Fallbacks: SSE, then polling; WebSocket is retried in the background
    function fallback() {
      if (closed) return;
      if (mode === "sse") openSse(); else startPolling();
      if (first("websocket")) later("upgrade", function upgrade() {
        if (closed || mode === "websocket") return;
        openWebSocket(true);
        later("upgrade", upgrade, o.upgradeInterval);
      }, o.upgradeInterval);
    }
    function sseUrl() {
      var q = [];
      for (var name in topics) if (!topics[name].wild) q.push("topic=" + encodeURIComponent(name));
      if (lastEventId) q.push("lastEventId=" + encodeURIComponent(lastEventId));
      return o.sseUrl + (o.sseUrl.indexOf("?") < 0 ? "?" : "&") + q.join("&");
    }
    function openSse() {
      if (es) es.close();
      var opened = false, src = es = new EventSource(sseUrl());
      setStatus("connecting", "sse");
      src.onopen = function () { opened = true; sseFailures = 0; attempt = 0; setStatus("live", "sse"); };
      // SSE names events by type; EventSource needs a listener per name.
      var onEvent = function (ev) {
        if (es !== src) return;
        if (ev.lastEventId) lastEventId = ev.lastEventId;
        var env; try { env = JSON.parse(ev.data); } catch (e) { return; }
        deliver(env);
      };
      var types = ["message", "update", "snapshot", "reset", "error", "subscribed", "unsubscribed"].concat(o.eventTypes);
      for (var i = 0; i < types.length; i++) src.addEventListener(types[i], onEvent);
      src.onerror = function () {
        if (es !== src) return;
        src.close(); es = null;
        if (!opened && ++sseFailures >= o.fallbackAfter && first("polling")) { mode = "polling"; return startPolling(); }
        retry();
      };
    }
    function startPolling() {
      setStatus("polling", "polling");
      stop("poll");
      timers.poll = setInterval(pollAll, o.pollInterval);
      pollAll();
    }
    function pollAll() {
      var any = false;
      for (var name in topics) if (!topics[name].wild && name !== "*") { any = true; poll(name); }
      return any;
    }
    function poll(name) {
      var t = topics[name], headers = {};
      if (t.etag) headers["If-None-Match"] = t.etag;
      fetch(o.apiUrl + "/" + encodeURIComponent(name), { headers: headers, cache: "no-store" }).then(function (r) {
        if (r.status === 200) { t.etag = r.headers.get("ETag"); return r.json().then(function (env) { if (!env.type) env = { type: "snapshot", topic: name, data: env }; deliver(env); }); }
        if (r.status !== 304 && r.status !== 404) throw new Error("HTTP " + r.status);
        if (status !== "polling") setStatus("polling", "polling");
      }).catch(function () { setStatus("offline", null); });
    }
    function stopFallback() {
      stop("poll"); stop("upgrade"); stop("probeTimeout");
      if (es) { es.close(); es = null; }
    }

    // ---- Public API
    var client = {
      subscribe: function (name, handler) {
        var t = topics[name];
        if (!t || t.wild) { t = topics[name] = { handlers: t ? t.handlers : [], epoch: t && t.epoch, id: t && t.id }; send(name); }
        t.handlers.push(handler);
        return function () {
          var i = t.handlers.indexOf(handler);
          if (i >= 0) t.handlers.splice(i, 1);
          if (!t.handlers.length && topics[name] === t) {
            delete topics[name];
            if (ws && ws.readyState === 1) ws.send(JSON.stringify({ action: "unsubscribe", topic: name }));
            else if (es) openSse();
          }
        };
      },
      onStatus: function (handler) { statusHandlers.push(handler); if (status) handler(status, transport); return function () { statusHandlers.splice(statusHandlers.indexOf(handler), 1); }; },
      status: function () { return { status: status, transport: transport }; },
      close: function () {
        closed = true;
        for (var n in timers) stop(n);
        if (ws) { var s = ws; ws = null; s.close(1000); }
        stopFallback();
        setStatus("offline", null);
      }
    };
    function send(name) {
      if (ws && ws.readyState === 1) ws.send(subscribeMessage(name));
      else if (es) openSse();
      else if (timers.poll) poll(name);
    }
    if (g.addEventListener) g.addEventListener("pagehide", client.close);
    setTimeout(function () { mode === "websocket" ? openWebSocket(false) : fallback(); }, 0);
    return client;
  }

  g.Watchcast = { connect: connect, version: "1" };
})(typeof globalThis !== "undefined" ? globalThis : this);
