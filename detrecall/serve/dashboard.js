"use strict";
var state = {token: null, model: null, runs: [], alerts: [], models: []};
var errors = [];
window.addEventListener("error", function (e) { errors.push(String(e.message)); document.body.dataset.error = errors.join("; "); });
function el(tag, attrs, children) {
  var n = document.createElement(tag);
  if (attrs) { for (var k in attrs) { if (k === "text") { n.textContent = attrs[k]; } else { n.setAttribute(k, attrs[k]); } } }
  (children || []).forEach(function (c) { n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return n;
}
function svg(tag, attrs) {
  var n = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var k in attrs) { n.setAttribute(k, attrs[k]); }
  return n;
}
function fmt(v) { return (v === null || v === undefined) ? "n/a" : (typeof v === "number" ? v.toFixed(4) : String(v)); }
function api(path) {
  return fetch(path, {headers: {"Authorization": "Bearer " + state.token}}).then(function (r) {
    if (r.status === 401) { sessionStorage.removeItem("detrecall-token"); throw new Error("the token was refused (401)"); }
    if (!r.ok) { return r.json().then(function (b) { throw new Error(b.error + " (" + b.where + ")"); }); }
    return r.json();
  });
}
function fail(err) {
  var box = document.getElementById("status");
  box.textContent = "Error: " + err.message;
  box.className = "status bad";
  document.body.dataset.error = err.message;
}
function keyMetrics(runs) {
  var seen = {};
  runs.forEach(function (r) { Object.keys(r.metrics).forEach(function (k) { seen[k] = true; }); });
  var preferred = ["AP", "AP50", "AP75", "AR100", "precision", "recall", "F1", "accuracy", "MCC", "ROC_AUC"];
  var names = preferred.filter(function (k) { return seen[k]; });
  return names.length ? names.slice(0, 6) : Object.keys(seen).slice(0, 6);
}
function chart(name, runs) {
  var W = 360, H = 150, L = 44, R = 10, T = 22, B = 24;
  var pts = runs.filter(function (r) { return r.metrics[name] !== null && r.metrics[name] !== undefined; });
  var box = el("figure", {"class": "chart", "data-metric": name});
  var s = svg("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img"});
  s.appendChild(svg("text", {x: L, y: 14, "class": "title"})).textContent = name;
  if (!pts.length) { s.appendChild(svg("text", {x: L, y: H / 2})).textContent = "no values"; box.appendChild(s); return box; }
  var vals = pts.map(function (r) { return r.metrics[name]; });
  var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  var pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
  function x(i) { return pts.length === 1 ? (L + W - R) / 2 : L + i * (W - L - R) / (pts.length - 1); }
  function y(v) { return T + (hi - v) * (H - T - B) / (hi - lo); }
  [lo + pad, hi - pad].forEach(function (v) {
    s.appendChild(svg("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid"}));
    s.appendChild(svg("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end", "class": "tick"})).textContent = v.toFixed(3);
  });
  var base = pts.filter(function (r) { return r.baseline; })[0];
  if (base) {
    s.appendChild(svg("line", {x1: L, x2: W - R, y1: y(base.metrics[name]), y2: y(base.metrics[name]), "class": "baseline"}));
  }
  var d = pts.map(function (r, i) { return (i ? "L" : "M") + x(i).toFixed(1) + " " + y(r.metrics[name]).toFixed(1); }).join(" ");
  s.appendChild(svg("path", {d: d, "class": "line"}));
  pts.forEach(function (r, i) {
    var c = svg("circle", {cx: x(i), cy: y(r.metrics[name]), r: r.alerts ? 5 : 3.5, "class": r.alerts ? "dot alert" : (r.baseline ? "dot base" : "dot")});
    c.appendChild(svg("title", {})).textContent = "run " + r.id + " " + r.created_at.slice(0, 19) + ": " + fmt(r.metrics[name]) + (r.alerts ? " (" + r.alerts + " alert(s))" : "");
    s.appendChild(c);
  });
  s.appendChild(svg("text", {x: L, y: H - 6, "class": "tick"})).textContent = "run " + pts[0].id;
  s.appendChild(svg("text", {x: W - R, y: H - 6, "text-anchor": "end", "class": "tick"})).textContent = "run " + pts[pts.length - 1].id;
  box.appendChild(s);
  return box;
}
function table(head, rows, cls) {
  var t = el("table", {"class": cls || ""});
  t.appendChild(el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", {text: h}); }))]));
  var body = el("tbody");
  rows.forEach(function (r) { body.appendChild(r); });
  t.appendChild(body);
  return t;
}
function showModels() {
  var list = document.getElementById("models");
  list.textContent = "";
  state.models.forEach(function (m) {
    var b = el("button", {"class": m.name === state.model ? "model on" : "model", "data-model": m.name}, [
      el("strong", {text: m.name}), el("span", {text: m.runs + " runs" + (m.baseline_run_id ? ", baseline " + m.baseline_run_id : ", no baseline")})]);
    b.addEventListener("click", function () { selectModel(m.name); });
    list.appendChild(b);
  });
  if (!state.models.length) { list.appendChild(el("p", {text: "No model yet: POST /v1/evaluations to record a run."})); }
}
function showRun(id) {
  var box = document.getElementById("run");
  box.textContent = "";
  return api("/v1/runs/" + id).then(function (run) {
    var names = {};
    ((run.result && run.result.per_class) || []).forEach(function (c) { names[String(c.category_id)] = c.name; });
    box.appendChild(el("h2", {text: "Run " + run.id + " · " + run.model + (run.version ? " " + run.version : "") + " · " + run.created_at.slice(0, 19).replace("T", " ")}));
    var per = run.metrics.per_class || {};
    var cols = {};
    Object.keys(per).forEach(function (k) { Object.keys(per[k]).forEach(function (c) { cols[c] = true; }); });
    var colNames = Object.keys(cols);
    var rows = Object.keys(per).map(function (k) {
      return el("tr", {}, [el("td", {text: k}), el("td", {text: names[k] || ""})].concat(colNames.map(function (c) { return el("td", {"class": "num", text: fmt(per[k][c])}); })));
    });
    box.appendChild(table(["class", "name"].concat(colNames), rows, "perclass"));
    if (run.alerts.length) {
      box.appendChild(el("h3", {text: "Alerts of this run"}));
      box.appendChild(el("ul", {"class": "alerts"}, run.alerts.map(function (a) { return el("li", {text: a.message}); })));
    }
  });
}
function showModel() {
  var main = document.getElementById("charts");
  main.textContent = "";
  var runs = state.runs.slice().reverse();
  keyMetrics(runs).forEach(function (k) { main.appendChild(chart(k, runs)); });
  var alerts = document.getElementById("alerts");
  alerts.textContent = "";
  alerts.appendChild(el("h2", {text: "Alerts (" + state.alerts.length + ")"}));
  alerts.appendChild(table(["run", "time", "rule", "message"], state.alerts.slice(0, 20).map(function (a) {
    return el("tr", {"class": "alert-row"}, [el("td", {text: String(a.run_id)}), el("td", {text: (a.at || "").slice(0, 19).replace("T", " ")}), el("td", {text: a.rule}), el("td", {text: a.message})]);
  }), "alerts"));
  var last = document.getElementById("runs");
  last.textContent = "";
  last.appendChild(el("h2", {text: "Last runs"}));
  var keys = keyMetrics(runs).slice(0, 3);
  last.appendChild(table(["run", "time", "version"].concat(keys).concat(["alerts", "tags"]), state.runs.slice(0, 20).map(function (r) {
    var tr = el("tr", {"class": "run-row" + (r.alerts ? " has-alert" : "") + (r.baseline ? " is-base" : ""), "data-run": String(r.id)},
      [el("td", {text: String(r.id) + (r.baseline ? " (baseline)" : "")}), el("td", {text: r.created_at.slice(0, 19).replace("T", " ")}), el("td", {text: r.version || "-"})]
      .concat(keys.map(function (k) { return el("td", {"class": "num", text: fmt(r.metrics[k])}); }))
      .concat([el("td", {"class": "num", text: String(r.alerts)}), el("td", {text: Object.keys(r.tags).map(function (k) { return k + "=" + r.tags[k]; }).join(" ")})]));
    tr.addEventListener("click", function () { showRun(r.id).catch(fail); });
    return tr;
  }), "runs"));
}
function selectModel(name) {
  state.model = name;
  showModels();
  return Promise.all([api("/v1/runs?limit=200&model=" + encodeURIComponent(name)), api("/v1/alerts?limit=100&model=" + encodeURIComponent(name))])
    .then(function (got) {
      state.runs = got[0].runs; state.alerts = got[1].alerts;
      showModel();
      return state.runs.length ? showRun(state.runs[0].id) : null;
    });
}
function load() {
  var status = document.getElementById("status");
  status.textContent = "Loading…";
  return api("/v1/models").then(function (got) {
    state.models = got.models;
    var wanted = state.model || (state.models[0] && state.models[0].name);
    showModels();
    return wanted ? selectModel(wanted) : null;
  }).then(function () {
    status.textContent = state.models.length + " model(s) · updated " + new Date().toLocaleTimeString();
    status.className = "status";
    document.body.dataset.ready = "1";
  }).catch(fail);
}
function start() {
  var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) { sessionStorage.setItem("detrecall-token", decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname + location.search); }
  var q = /(?:^#|&)model=([^&]+)/.exec(location.hash);
  if (q) { state.model = decodeURIComponent(q[1]); }
  state.token = sessionStorage.getItem("detrecall-token");
  var form = document.getElementById("login");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    state.token = document.getElementById("token").value.trim();
    sessionStorage.setItem("detrecall-token", state.token);
    form.hidden = true;
    load();
  });
  document.getElementById("refresh").addEventListener("click", function () { load(); });
  if (state.token) { form.hidden = true; load(); } else { document.getElementById("status").textContent = "Enter a token to see the runs."; }
}
start();
