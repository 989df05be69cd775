// Zoom for the report's power figure: drag across the plot to zoom into that time, double-click
// or "Reset zoom" to see the whole run, "Zoom out" to double the span. The figure is drawn by
// the server (report/figure.py) and works without this script; zooming redraws the device
// lines, the intensity line, the windows and the time ticks from the finer series in the
// page's JSON block (id "power-data"). The power axis stays that of the whole run.
(function () {
  "use strict";
  var svg = document.querySelector("svg.power");
  var block = document.getElementById("power-data");
  if (!svg || !block) return;
  var data = JSON.parse(block.textContent);
  var NS = "http://www.w3.org/2000/svg";
  var num = function (name) { return parseFloat(svg.getAttribute("data-" + name)); };
  var left = num("left"), pw = num("pw"), top = num("top"), ph = num("ph");
  var ymax = num("ymax"), imax = num("imax"), full = [num("t0"), num("t1")];
  var view = full.slice();
  var status = document.getElementById("zoom-status");

  function xOf(t) { return left + (t - view[0]) / (view[1] - view[0]) * pw; }
  function clamp(t) { return Math.min(view[1], Math.max(view[0], t)); }

  // Step line through the intervals [edges[i], edges[i+1]] that overlap the view.
  function steps(edges, values, scale) {
    var pts = [];
    for (var i = 0; i < values.length; i++) {
      var a = edges[i], b = edges[i + 1];
      if (b <= view[0] || a >= view[1]) continue;
      var y = (top + ph - values[i] / scale * ph).toFixed(1);
      pts.push(xOf(clamp(a)).toFixed(1) + "," + y, xOf(clamp(b)).toFixed(1) + "," + y);
    }
    return pts.join(" ");
  }

  function niceStep(x) {
    var base = Math.pow(10, Math.floor(Math.log10(x)));
    var ms = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < ms.length; i++) if (ms[i] * base >= x * (1 - 1e-9)) return ms[i] * base;
    return 10 * base;
  }

  function ticks() {
    var old = svg.querySelectorAll("text.xtick");
    var y = old.length ? old[0].getAttribute("y") : String(top + ph + 16);
    old.forEach(function (n) { n.remove(); });
    var span = view[1] - view[0], step = niceStep(span / 5);
    var decimals = step < 1 ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 0;
    if ((step * Math.pow(10, decimals)) % 1) decimals += 1;
    for (var k = Math.ceil((view[0] - 1e-9 * span) / step); k * step <= view[1] + 1e-9 * span; k++) {
      var t = document.createElementNS(NS, "text");
      t.setAttribute("class", "xtick");
      t.setAttribute("x", xOf(k * step).toFixed(1));
      t.setAttribute("y", y);
      t.setAttribute("font-size", "11");
      t.setAttribute("text-anchor", "middle");
      t.textContent = (k * step).toFixed(decimals);
      svg.appendChild(t);
    }
  }

  function draw() {
    svg.querySelectorAll("polyline.series").forEach(function (line) {
      var values = data.w[line.getAttribute("data-key")];
      if (values) line.setAttribute("points", steps(data.t, values, ymax));
    });
    var intensity = svg.querySelector("polyline.intensity");
    if (intensity && data.i.length && imax > 0) {
      var edges = [data.i[0][0]].concat(data.i.map(function (b) { return b[1]; }));
      intensity.setAttribute("points", steps(edges, data.i.map(function (b) { return b[2]; }), imax));
    }
    svg.querySelectorAll("rect.window").forEach(function (r) {
      var a = parseFloat(r.getAttribute("data-from")), b = parseFloat(r.getAttribute("data-to"));
      var x0 = xOf(clamp(a)), x1 = xOf(clamp(b));
      r.setAttribute("x", x0.toFixed(1));
      r.setAttribute("width", Math.max(0, x1 - x0).toFixed(1));
    });
    ticks();
    if (status) {
      var zoomed = view[0] > full[0] || view[1] < full[1];
      status.textContent = zoomed
        ? "showing " + view[0].toFixed(2) + " to " + view[1].toFixed(2) + " s"
        : "whole run";
    }
  }

  function zoomTo(a, b) {
    a = Math.max(full[0], a); b = Math.min(full[1], b);
    if (b - a <= 1e-6 * (full[1] - full[0])) return;
    view = [a, b];
    draw();
  }

  // Pointer x in the plot, as seconds.
  function timeAt(ev) {
    var box = svg.getBoundingClientRect();
    var px = (ev.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
    return view[0] + (Math.min(left + pw, Math.max(left, px)) - left) / pw * (view[1] - view[0]);
  }

  var band = document.createElementNS(NS, "rect");
  band.setAttribute("class", "zoom-band");
  band.setAttribute("y", String(top));
  band.setAttribute("height", String(ph));
  band.setAttribute("fill", "rgba(31,119,180,0.15)");
  band.setAttribute("display", "none");
  svg.appendChild(band);
  var from = null;

  svg.addEventListener("pointerdown", function (ev) { from = timeAt(ev); });
  svg.addEventListener("pointermove", function (ev) {
    if (from === null) return;
    var a = xOf(Math.min(from, timeAt(ev))), b = xOf(Math.max(from, timeAt(ev)));
    band.setAttribute("x", a.toFixed(1));
    band.setAttribute("width", (b - a).toFixed(1));
    band.setAttribute("display", "inline");
  });
  svg.addEventListener("pointerup", function (ev) {
    if (from === null) return;
    var to = timeAt(ev), a = Math.min(from, to), b = Math.max(from, to);
    from = null;
    band.setAttribute("display", "none");
    if ((b - a) / (view[1] - view[0]) * pw >= 5) zoomTo(a, b);
  });
  svg.addEventListener("dblclick", function () { view = full.slice(); draw(); });
  var reset = document.getElementById("zoom-reset");
  if (reset) reset.addEventListener("click", function () { view = full.slice(); draw(); });
  var out = document.getElementById("zoom-out");
  if (out) out.addEventListener("click", function () {
    var mid = (view[0] + view[1]) / 2, half = view[1] - view[0];
    zoomTo(mid - half, mid + half);
    if (view[1] - view[0] < 2 * half) {  // at an edge: keep the span, slide inside the run
      var span = Math.min(full[1] - full[0], 2 * half);
      var a = Math.max(full[0], Math.min(mid - span / 2, full[1] - span));
      zoomTo(a, a + span);
    }
  });
  if (status) status.textContent = "whole run";
  var controls = document.getElementById("zoom-controls");
  if (controls) controls.hidden = false;
})();
