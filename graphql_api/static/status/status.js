// The status page, live: one graphql-transport-ws connection to /graphql.
// runUpdates: fetch the page's live section again (at most once a second);
// marketUpdates of the charted market: add the pushed price to the tick chart, or fetch
// the candle chart again (drawn by the server, at most once a second).
"use strict";
(function () {
  const chartData = document.getElementById("chart-data");
  const chart = chartData ? JSON.parse(chartData.textContent) : null;
  const liveState = document.getElementById("live-state");
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_POINTS = 2000;

  function setState(text, cls) {
    liveState.textContent = text;
    liveState.className = "badge badge-" + cls;
  }

  function svgElement(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const key in attributes) element.setAttribute(key, attributes[key]);
    return element;
  }

  function drawChart() {
    const svg = document.getElementById("chart");
    if (!svg || !chart || chart.kind === "candles") return;
    const points = chart.points.filter(function (p) { return p[1] !== null; });
    svg.replaceChildren();
    svg.setAttribute("data-points", String(points.length));
    const caption = document.getElementById("chart-caption");
    if (points.length === 0) {
      caption.textContent = "No price in the last hours.";
      return;
    }
    const times = points.map(function (p) { return Date.parse(p[0]); });
    const prices = points.map(function (p) { return p[1]; });
    const t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
    const low = Math.min.apply(null, prices), high = Math.max.apply(null, prices);
    const x = function (t) { return 50 + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * 540; };
    const y = function (v) { return 200 - (high > low ? (v - low) / (high - low) : 0.5) * 180; };
    svg.appendChild(svgElement("line", { x1: 50, y1: 200, x2: 590, y2: 200, class: "axis" }));
    const labels = [[high, 24], [low, 204]];
    labels.forEach(function (label) {
      const text = svgElement("text", { x: 0, y: label[1], class: "label" });
      text.textContent = Number(label[0]).toPrecision(6);
      svg.appendChild(text);
    });
    const coordinates = points.map(function (p, i) { return x(times[i]) + "," + y(prices[i]); });
    svg.appendChild(svgElement("polyline", { points: coordinates.join(" "), class: "line" }));
    const last = points.length - 1;
    svg.appendChild(svgElement("circle", { cx: x(times[last]), cy: y(prices[last]), r: 3, class: "dot" }));
    caption.textContent = "last " + prices[last] + " at " + new Date(times[last]).toISOString().slice(11, 19) +
      " UTC · " + points.length + " points";
  }

  let refreshing = null;
  function refreshLive() {
    if (refreshing) return;
    refreshing = setTimeout(function () {
      const url = new URL(window.location.href);
      url.searchParams.set("part", "live");
      fetch(url, { cache: "no-store" })
        .then(function (response) { return response.text(); })
        .then(function (html) { document.getElementById("live").innerHTML = html; })
        .catch(function () {})
        .finally(function () { refreshing = null; });
    }, 1000);
  }

  let redrawing = null;
  function refreshCandles() {
    if (redrawing) return;
    redrawing = setTimeout(function () {
      const url = new URL("/", window.location.href);
      url.search = new URLSearchParams({ part: "chart", exchange: chart.exchange, symbol: chart.symbol });
      fetch(url, { cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response); })
        .then(function (html) { document.getElementById("chart-section").outerHTML = html; })
        .catch(function () {})
        .finally(function () { redrawing = null; });
    }, 1000);
  }

  function connect(delay) {
    const url = new URL("/graphql", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, "graphql-transport-ws");
    const send = function (message) { socket.send(JSON.stringify(message)); };
    socket.onopen = function () { send({ type: "connection_init", payload: {} }); };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        delay = 1000;
        send({ id: "runs", type: "subscribe",
               payload: { query: "subscription { runUpdates { id state } }" } });
        if (chart) {
          send({ id: "chart", type: "subscribe", payload: {
            query: "subscription ($e: String!, $s: [String!]) " +
                   "{ marketUpdates(exchange: $e, symbols: $s) { last updatedAt } }",
            variables: { e: chart.exchange, s: [chart.symbol] } } });
        }
        setState("live", "live");
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.type === "next" && message.id === "runs") {
        refreshLive();
      } else if (message.type === "next" && message.id === "chart") {
        const market = message.payload.data && message.payload.data.marketUpdates;
        if (market && chart.kind === "candles") {
          refreshCandles();
        } else if (market) {
          chart.points.push([market.updatedAt, market.last]);
          if (chart.points.length > MAX_POINTS) chart.points.shift();
          drawChart();
        }
      }
    };
    socket.onclose = function () {
      setState("reconnecting…", "stale");
      setTimeout(function () { connect(Math.min(delay * 2, 30000)); }, delay);
    };
  }

  drawChart();
  connect(1000);
})();
