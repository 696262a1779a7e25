"""The analytics dashboard for team leads and knowledge editors (Starlette + Jinja2, uvicorn).

`python -m dashboard` serves it on DASHBOARD_HOST:DASHBOARD_PORT (127.0.0.1:8081); users are
created with `python -m dashboard.users add NAME --role lead|editor`. See analytics/README.md.
"""
