"""Framework-free vision pieces the engines share: boxes (geometry), the object detector
(detection), model files (modelstore) and the decoded media types (media).

Nothing here imports Django or a project app (import-linter enforces it), so engines,
workers and benches use it without a settings module.
"""
