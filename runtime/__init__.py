"""The runtime: how the services run, heal and scale out.

- `runtime.settings`: replicas, ports and supervision settings, read once from the environment.
- `runtime.supervisor`: the supervisord configuration written from the one description of the
  services (scripts/services.py), and a small XML-RPC client for supervisord.
- `runtime.haproxy`: the HAProxy configuration for N Rasa servers and M action servers, with
  the polite "try again in a moment" answer while no action server is up.
- `runtime.watchdog`: runs under supervisord; restarts a service whose health check fails and
  logs every restart.
"""
