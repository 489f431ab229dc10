"""巨好办 admin console and management API (sanic).

The API is a thin HTTP face over the case services in :mod:`workflow`: it parses requests, checks the
bearer token and translates domain errors into JSON, and holds no business rules or SQL of its own.
Build the application with :func:`admin.app.create_app`; run it with ``python -m admin``.
"""
