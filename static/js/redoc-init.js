// ReDoc's start, from a file rather than drf-spectacular's inline script, so that
// /docs/redoc/ keeps a self-only script-src.
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  var settings = JSON.parse(container.dataset.settings || "{}");
  Redoc.init(container.dataset.schemaUrl, settings, container);
})();
