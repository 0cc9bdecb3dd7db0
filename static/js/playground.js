/* VisionEra playground: calls the real API with the signed-in session (CSRF header, no key),
   shows the JSON and draws boxes, landmarks and keypoints on the uploaded photos. */
(function () {
  "use strict";

  var COLORS = ["#2454d6", "#e0457b", "#0f9d58", "#f29900", "#8e44ad", "#00a3bf"];
  var SKELETON = [
    ["left_shoulder", "right_shoulder"], ["left_shoulder", "left_elbow"], ["left_elbow", "left_wrist"],
    ["right_shoulder", "right_elbow"], ["right_elbow", "right_wrist"], ["left_shoulder", "left_hip"],
    ["right_shoulder", "right_hip"], ["left_hip", "right_hip"], ["left_hip", "left_knee"],
    ["left_knee", "left_ankle"], ["right_hip", "right_knee"], ["right_knee", "right_ankle"],
    ["nose", "left_eye"], ["nose", "right_eye"], ["left_eye", "left_ear"], ["right_eye", "right_ear"]
  ];

  var images = {};  // preview slot ("1", "2") -> HTMLImageElement of the chosen file

  function $(id) { return document.getElementById(id); }

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (field && field.value) { return field.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error("not an image the browser can show")); };
      img.src = url;
    });
  }

  function canvasFor(slot) { return $("canvas-" + slot); }

  function resetCanvas(slot) {
    var canvas = canvasFor(slot);
    var img = images[slot];
    canvas.removeAttribute("data-boxes");
    $("caption-" + slot).textContent = "";
    if (!img) { canvas.parentNode.hidden = true; return null; }
    canvas.parentNode.hidden = false;
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    var ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    return ctx;
  }

  function scale(canvas) { return Math.max(1, Math.round(Math.max(canvas.width, canvas.height) / 400)); }

  function drawBox(slot, box, color, label) {
    var canvas = canvasFor(slot);
    if (!box || !images[slot]) { return; }
    var ctx = canvas.getContext("2d");
    var s = scale(canvas);
    ctx.lineWidth = 3 * s;
    ctx.strokeStyle = color;
    ctx.strokeRect(box.x, box.y, box.width, box.height);
    if (label) {
      ctx.font = "bold " + (14 * s) + "px system-ui, sans-serif";
      var w = ctx.measureText(label).width + 8 * s;
      var h = 20 * s;
      var y = box.y - h >= 0 ? box.y - h : box.y;
      ctx.fillStyle = color;
      ctx.fillRect(box.x - 1.5 * s, y, w, h);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, box.x + 3 * s, y + 15 * s);
    }
    canvas.setAttribute("data-boxes", String(Number(canvas.getAttribute("data-boxes") || 0) + 1));
  }

  function drawPoint(slot, x, y, color) {
    var canvas = canvasFor(slot);
    var ctx = canvas.getContext("2d");
    var s = scale(canvas);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y, 2.5 * s, 0, Math.PI * 2);
    ctx.fill();
  }

  function asPoint(value) {
    if (!value) { return null; }
    if (Array.isArray(value) && value.length >= 2 && typeof value[0] === "number") { return { x: value[0], y: value[1] }; }
    if (typeof value.x === "number" && typeof value.y === "number") { return value; }
    return null;
  }

  function landmarkPoints(landmarks) {
    var points = [];
    var add = function (value) {
      var p = asPoint(value);
      if (p) { points.push(p); return; }
      if (Array.isArray(value)) { value.forEach(add); }
    };
    if (Array.isArray(landmarks)) { add(landmarks); }
    else if (landmarks && typeof landmarks === "object") {
      Object.keys(landmarks).forEach(function (k) { add(landmarks[k]); });
    }
    return points;
  }

  function drawKeypoints(slot, keypoints, color) {
    var canvas = canvasFor(slot);
    var ctx = canvas.getContext("2d");
    var s = scale(canvas);
    var byName = {};
    (keypoints || []).forEach(function (k) { if (k && (k.score === undefined || k.score >= 0.2)) { byName[k.name] = k; } });
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = 2 * s;
    SKELETON.forEach(function (pair) {
      var a = byName[pair[0]], b = byName[pair[1]];
      if (a && b) { ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke(); }
    });
    Object.keys(byName).forEach(function (name) { drawPoint(slot, byName[name].x, byName[name].y, "#ffd400"); });
  }

  function pct(value) { return typeof value === "number" ? Math.round(value * 100) + "%" : "?"; }

  var renderers = {
    compare: function (data) {
      drawBox("1", data.source_face && data.source_face.box, COLORS[0], "source");
      drawBox("2", data.target_face && data.target_face.box, COLORS[1], "target");
      if (data.faces_detected) {
        $("caption-1").textContent = data.faces_detected.image1 + " face(s) detected";
        $("caption-2").textContent = data.faces_detected.image2 + " face(s) detected";
      }
      return (data.match ? "Match" : "No match") + " — similarity " + pct(data.similarity) +
        ", distance " + data.distance + " (threshold " + data.threshold + "), confidence " + data.confidence + ".";
    },
    detect: function (data) {
      (data.faces || []).forEach(function (face, i) {
        var color = COLORS[i % COLORS.length];
        var parts = [];
        var a = face.attributes || {};
        if (a.age !== undefined) { parts.push(String(a.age)); }
        if (a.gender) { parts.push(a.gender.value || a.gender); }
        if (a.emotion) { parts.push(a.emotion.value || a.emotion); }
        drawBox("1", face.box, color, parts.length ? parts.join(", ") : "face " + (i + 1));
        landmarkPoints(face.landmarks).forEach(function (p) { drawPoint("1", p.x, p.y, "#ffd400"); });
      });
      return (data.count !== undefined ? data.count : (data.faces || []).length) + " face(s) detected.";
    },
    search: function (data) {
      var faces = data.faces && data.faces.length ? data.faces : (data.search_face ? [{ box: data.search_face.box, matches: data.matches }] : []);
      faces.forEach(function (face, i) {
        var best = (face.matches || [])[0];
        drawBox("1", face.box, best ? COLORS[2] : COLORS[1], best ? best.label + " " + pct(best.similarity) : "unknown");
      });
      var best = (data.matches || [])[0];
      return data.faces_detected + " face(s) in the photo; " + (best ? "best match " + best.label + " (" + pct(best.similarity) + ")." : "no match in the collection.");
    },
    vehicles: function (data) {
      (data.vehicles || []).forEach(function (v, i) {
        drawBox("1", v.box, COLORS[i % COLORS.length], v.type + " " + pct(v.confidence));
        if (v.plate) { drawBox("1", v.plate.box, "#ffd400", v.plate.text); }
      });
      var counts = data.counts || {};
      var text = Object.keys(counts).map(function (k) { return counts[k] + " " + k; }).join(", ");
      return (text || "No vehicles") + ".";
    },
    body: function (data) {
      (data.people || []).forEach(function (person, i) {
        var color = COLORS[i % COLORS.length];
        drawBox("1", person.box, color, "person " + pct(person.confidence));
        drawKeypoints("1", person.keypoints, color);
      });
      return (data.count !== undefined ? data.count : (data.people || []).length) + " person(s).";
    }
  };

  function showError(body, status) {
    var box = $("result-error");
    var error = body && body.error;
    box.hidden = false;
    box.innerHTML = "";
    var title = document.createElement("strong");
    title.textContent = error ? (error.status + " " + error.code) : ("HTTP " + status);
    var message = document.createElement("p");
    message.textContent = error ? error.message : "The server answered without the error envelope.";
    box.appendChild(title);
    box.appendChild(message);
    if (error && error.status === 501) {
      var note = document.createElement("p");
      note.textContent = "This endpoint is not available on this server yet.";
      box.appendChild(note);
    }
    if (error && error.request_id) {
      var rid = document.createElement("p");
      rid.textContent = "Request id: " + error.request_id;
      box.appendChild(rid);
    }
  }

  function setStatus(status, ok) {
    var el = $("result-status");
    el.textContent = status ? String(status) : "";
    el.className = "status " + (status ? (ok ? "good" : "bad") : "");
  }

  function activateTab(tab) {
    Array.prototype.forEach.call(document.querySelectorAll('[role="tab"]'), function (t) {
      var selected = t === tab;
      t.setAttribute("aria-selected", selected ? "true" : "false");
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    });
  }

  function submit(event) {
    event.preventDefault();
    var form = event.target;
    var mode = form.getAttribute("data-mode");
    var data = new FormData(form);
    data.delete("csrfmiddlewaretoken");
    if (mode === "detect") {
      var attrs = data.getAll("attr");
      data.delete("attr");
      if (attrs.length) { data.append("attributes", attrs.join(",")); }
    }
    Array.from(data.keys()).forEach(function (key) {
      var value = data.get(key);
      if (value === "") { data.delete(key); }
    });
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    $("result-error").hidden = true;
    $("result-summary").textContent = "Working…";
    $("result-json").textContent = "";
    setStatus("", true);
    $("result").setAttribute("aria-busy", "true");
    // Show only the photos this request sends.
    images = {};
    var loads = Array.prototype.map.call(form.querySelectorAll("input[type=file][data-preview]"), function (input) {
      if (!input.files.length) { return Promise.resolve(); }
      return loadImage(input.files[0]).then(function (img) { images[input.getAttribute("data-preview")] = img; }, function () {});
    });
    Promise.all(loads).then(function () {
      ["1", "2"].forEach(resetCanvas);
      return fetch(form.getAttribute("data-endpoint"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form), "Accept": "application/json" }
      });
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        return { status: response.status, ok: response.ok, body: body, text: text };
      });
    }).then(function (result) {
      setStatus(result.status, result.ok);
      $("result-json").textContent = result.body ? JSON.stringify(result.body, null, 2) : result.text;
      if (!result.ok) {
        showError(result.body, result.status);
        $("result-summary").textContent = "";
        return;
      }
      $("result-summary").textContent = renderers[mode](result.body);
    }).catch(function (err) {
      showError(null, "network error: " + err.message);
      $("result-summary").textContent = "";
    }).then(function () {
      button.disabled = false;
      $("result").removeAttribute("aria-busy");
      $("result").setAttribute("data-done", "1");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tabs = document.querySelectorAll('[role="tab"]');
    Array.prototype.forEach.call(tabs, function (tab, index) {
      tab.addEventListener("click", function () { activateTab(tab); });
      tab.addEventListener("keydown", function (e) {
        var next = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (next) { var t = tabs[(index + next + tabs.length) % tabs.length]; activateTab(t); t.focus(); }
      });
    });
    if (tabs.length) { activateTab(tabs[0]); }
    Array.prototype.forEach.call(document.querySelectorAll(".playground-form"), function (form) {
      form.addEventListener("submit", submit);
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-preview]"), function (input) {
      input.addEventListener("change", function () {
        var slot = input.getAttribute("data-preview");
        if (!input.files.length) { delete images[slot]; resetCanvas(slot); return; }
        loadImage(input.files[0]).then(function (img) {
          images[slot] = img;
          resetCanvas(slot);
        }, function () { delete images[slot]; resetCanvas(slot); });
      });
    });
    ["1", "2"].forEach(resetCanvas);
  });
})();
