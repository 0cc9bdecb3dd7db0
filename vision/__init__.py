"""Framework-free vision pieces the engines share: boxes (geometry), the object detector
(detection), model files (modelstore), the decoded media types (media) and the one
rounding rule every rendered result follows (rounding).

Nothing here imports Django or a project app (import-linter enforces it), so engines,
workers and benches use it without a settings module.
"""
