"""Sphinx extension: drop sphinx-thebe's scripts from every page.

Jupyter Book always loads sphinx-thebe, whose setup adds an inline script
(``const THEBE_JS_URL = ...``) and ``sphinx-thebe.js`` to every page, even with
launch buttons off; the inline script arrived twice per page, and the browser
logged "Identifier 'THEBE_JS_URL' has already been declared". The book has no
live code, so neither script is needed.
"""

from __future__ import annotations


def _is_thebe(filename, attributes: dict) -> bool:
    return "thebe" in str(filename or "") or "THEBE_JS_URL" in attributes.get("body", "")


def _drop_thebe_scripts(app, env, docnames) -> None:
    app.registry.js_files[:] = [(name, attrs) for name, attrs in app.registry.js_files if not _is_thebe(name, attrs)]
    builder_files = getattr(app.builder, "_js_files", None)
    if builder_files is not None:  # Sphinx's _JavaScript objects: .filename and .attributes
        builder_files[:] = [js for js in builder_files if not _is_thebe(js.filename, js.attributes)]


def setup(app):
    # after sphinx-thebe's own handler of the same event (priority 500), which adds the scripts
    app.connect("env-before-read-docs", _drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
